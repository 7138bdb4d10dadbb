#!/usr/bin/env python3
"""Renders bench/run's measurements as Markdown: machine, commands, every run, medians, targets.

Usage: report.py RESULTS.tsv META.tsv [--jmh JMH.json] [--profile PROFILE.md]
  RESULTS.tsv  series, run, seconds, whole-command seconds (stage only), peak RSS KiB (stage only),
               percent of the read files in the page cache just before the run, CPU seconds
               (user + sys; stage: the whole command), CPU seconds of the staging part (stage
               only), bytes in the shared-memory staging directory after the command and at most
               while it ran (stage only); an empty field is "not measured"
  META.tsv     key, value (machine, model, commands, notes)
  PROFILE.md   the top frames printed by bench/profile.sh
Nothing here measures: every number comes from the files.
"""
import argparse
import json
import statistics
from collections import defaultdict

GIB = 1 << 30
MIB = 1 << 20

# series: label
SERIES = [
    ("http.curl", "curl -o /dev/null, one curl per shard, all in parallel"),
    ("http.curl_shm", "curl -o /dev/shm/..., one curl per shard, all in parallel (wire into memory)"),
    ("http.stage", "warmstage stage, HTTP (nginx), cache off"),
    ("http.dtl", "download-then-load: curl -o file per shard (parallel), then load.py"),
    ("http.dtl.download", "  download part (curl -o file, parallel)"),
    ("http.dtl.load", "  load part (load.py: each shard read into one bytearray)"),
    ("cache.fill", "warmstage stage --cache-dir, empty cache (fill), HTTP origin"),
    ("cache.hit", "warmstage stage --cache-dir, every file a cache hit"),
    ("cache.cat", "cat <cached copies> > /dev/null"),
    ("cache.cp", "cp <cached copies> /dev/shm/ (one cp per file, in parallel)"),
    ("file.cp", "cp <shards> /dev/shm/ (one cp per file, in parallel)"),
    ("file.stage", "warmstage stage, file:// (the generated model directory), cache off"),
    ("s3.ranged", "curl --aws-sigv4, 16 MiB ranges, several in flight"),
    ("s3.stage", "warmstage stage, s3:// (S3Proxy)"),
    ("rss.small", "warmstage stage, HTTP, cache off, the ~2 GB model (peak RSS)"),
]
STAGE_SERIES = ("http.stage", "cache.fill", "cache.hit", "file.stage", "s3.stage", "rss.small")
MAIN_STAGE_SERIES = STAGE_SERIES[:-1]

# (name, baseline series, stage series, target speed ratio or None for information, meaning)
SPEED_TARGETS = [
    ("HTTP: stage vs curl -o /dev/shm (wire into memory)", "http.curl_shm", "http.stage", 0.9,
     "stage >= 0.9x the speed of curl into /dev/shm"),
    ("HTTP: stage vs curl -o /dev/null (the wire's own limit)", "http.curl", "http.stage", None,
     "reported beside the one above"),
    ("HTTP: stage vs download-then-load", "http.dtl", "http.stage", 2.0,
     "stage >= 2x faster than download-then-load"),
    ("Cache hit: restage vs cp of the cached copies into /dev/shm", "cache.cp", "cache.hit", 0.8,
     "cache-hit restage >= 0.8x the speed of cp into /dev/shm"),
    ("Cache hit: restage vs cat of the cached copies > /dev/null", "cache.cat", "cache.hit", None,
     "reported beside the one above"),
    ("file://: stage vs cp of the shards into /dev/shm", "file.cp", "file.stage", 0.8,
     "file:// stage >= 0.8x the speed of cp into /dev/shm"),
    ("S3: stage vs ranged curl download (same ranges in flight)", "s3.ranged", "s3.stage", 0.9,
     "stage >= 0.9x the speed of the ranged download"),
]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fnum(v, fmt="{:.2f}"):
    return "" if v is None else fmt.format(v)


def read_results(path):
    rows = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            fields += [""] * (10 - len(fields))
            series, run, sec, whole, rss, cached, cpu, cpu_staging, shm_after, shm_peak = fields[:10]

            def num(x, kind=float):
                return kind(x) if x else None

            rows[series].append({
                "run": int(run), "s": float(sec), "whole": num(whole), "rss": num(rss, int),
                "cached": cached, "cpu": num(cpu), "cpu_staging": num(cpu_staging),
                "shm_after": num(shm_after, int), "shm_peak": num(shm_peak, int),
            })
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("meta")
    ap.add_argument("--jmh")
    ap.add_argument("--profile")
    args = ap.parse_args()
    rows = read_results(args.results)
    meta = {}
    with open(args.meta) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                meta[k] = v
    jmh = None
    if args.jmh:
        with open(args.jmh) as f:
            jmh = json.load(f)

    def nbytes(key):
        return int(meta.get("bytes.rss.small" if key == "rss.small" else "bytes", "0"))

    def cpu_per_gb(key, whole=False):
        """Median CPU-s per 10^9 bytes: stage rows the staging part (or, whole, the command)."""
        b = nbytes(key)
        vals = []
        for x in rows.get(key, []):
            c = x["cpu"] if whole or x["cpu_staging"] is None else x["cpu_staging"]
            if c is not None and b:
                vals.append(c / (b / 1e9))
        return med(vals)

    out = []
    w = out.append
    mode = meta.get("mode", "full")
    quick = mode != "full"
    w("# Warmstage benchmarks" + {"quick": " — QUICK RUN (~2 GB model)",
                                   "trial": " — TRIAL RUN (not the full benchmark)"}.get(mode, ""))
    w("")
    w(meta.get("intro", ""))
    w("")
    w("## Machine and run")
    w("")
    w("| | |")
    w("|---|---|")
    for k in ["date", "commit", "cpus", "memory", "kernel", "jdk", "nginx", "curl", "s3proxy",
              "shm", "load", "first_touch", "java_opts", "runs", "elapsed"]:
        if k in meta:
            w(f"| {k} | {meta[k]} |")
    w("")
    w("## Models")
    w("")
    for k in sorted(x for x in meta if x.startswith("model.")):
        w(f"- {meta[k]}")
    w("")
    w("## Commands")
    w("")
    w("```")
    for k in sorted(x for x in meta if x.startswith("cmd.")):
        w(f"# {k[4:]}")
        w(meta[k])
    w("```")
    w("")
    w("## Results")
    w("")
    w("Stage rows time the staging time from Warmstage's summary (job running to last model "
      "staged); baseline rows time the command's wall clock. CPU-s/GB is user + sys seconds per "
      "10^9 bytes (stage rows: from the cluster being up to the end; the whole command is in the "
      "next table). Medians over the runs; every run listed in order. \"cached\" is the share "
      "of the files read that was in the page cache just before each run (fincore).")
    w("")
    w("| what | median s | GB/s | CPU-s/GB | runs s | cached % (runs) |")
    w("|---|---:|---:|---:|---|---|")
    for key, label in SERIES:
        r = rows.get(key)
        if not r:
            continue
        b = nbytes(key)
        m = med(x["s"] for x in r)
        gbs = f"{b / m / 1e9:.3f}" if m and b else ""
        runs = ", ".join(f"{x['s']:.2f}" for x in r)
        cached = ", ".join(x["cached"] for x in r)
        w(f"| `{key}` {label} | {m:.2f} | {gbs} | {fnum(cpu_per_gb(key))} | {runs} | {cached} |")
    if any(rows.get(k) for k in STAGE_SERIES):
        w("")
        w("Stage runs: the whole command (JVM and embedded cluster start, staging, shut-down), "
          "start-up = whole command minus staging time (per run, then the median), the whole "
          "command's CPU, the JVM's peak RSS, and the bytes held in shared-memory staging files "
          "(after the command; the most seen while it ran; empty: no staging directory).")
        w("")
        w("| stage | whole command s (median) | start-up s (median; runs) | CPU-s/GB whole "
          "command | peak RSS MiB (median; runs) | shm MiB after (median) | shm MiB peak "
          "(median; runs) |")
        w("|---|---:|---|---:|---|---:|---|")
        for key in STAGE_SERIES:
            r = rows.get(key)
            if not r:
                continue
            startup = [x["whole"] - x["s"] for x in r if x["whole"] is not None]
            rss = [x["rss"] for x in r if x["rss"] is not None]
            after = [x["shm_after"] for x in r if x["shm_after"] is not None]
            peak = [x["shm_peak"] for x in r if x["shm_peak"] is not None]
            w(f"| `{key}` | {fnum(med(x['whole'] for x in r))} | "
              + (f"{med(startup):.2f}; " + ", ".join(f"{v:.2f}" for v in startup) if startup else "")
              + f" | {fnum(cpu_per_gb(key, whole=True))} | "
              + (f"{med(rss) / 1024:.0f}; " + ", ".join(f"{v / 1024:.0f}" for v in rss) if rss else "")
              + " | " + (f"{med(after) / MIB:.0f}" if after else "") + " | "
              + (f"{med(peak) / MIB:.0f}; " + ", ".join(f"{v / MIB:.0f}" for v in peak) if peak else "")
              + " |")
    w("")
    w("## Ratios and targets")
    w("")
    w("Speed ratio = baseline median wall time / stage median staging time (above 1: stage is "
      "faster); the same over the stage's whole command in brackets. CPU ratio = stage CPU-s/GB "
      "(staging part) / baseline CPU-s/GB (below 1: stage uses less). All from this run.")
    w("")
    w("| comparison | measured | target | met |")
    w("|---|---|---|---|")
    for name, base, stage, target, meaning in SPEED_TARGETS:
        if not rows.get(stage):
            continue
        if not rows.get(base):
            w(f"| {name} | not measured | {meaning} | n/a |")
            continue
        b = med(x["s"] for x in rows[base])
        s = med(x["s"] for x in rows[stage])
        sw = med(x["whole"] for x in rows[stage])
        ratio = b / s if s else float("inf")
        whole = f" (whole command {b / sw:.2f}x)" if sw else ""
        verdict = "—" if target is None else ("met" if ratio >= target else "MISSED")
        w(f"| {name} | {ratio:.2f}x{whole} | {meaning} | {verdict} |")
    if rows.get("http.stage"):
        name = "CPU: HTTP stage vs curl -o /dev/shm, CPU-s/GB"
        meaning = "stage CPU-s/GB <= 2x that of curl into /dev/shm"
        c_stage, c_whole = cpu_per_gb("http.stage"), cpu_per_gb("http.stage", whole=True)
        c_curl = cpu_per_gb("http.curl_shm")
        if c_curl and c_stage is not None:
            ratio = c_stage / c_curl
            w(f"| {name} | {c_stage:.2f} vs {c_curl:.2f} = {ratio:.2f}x (whole command "
              f"{c_whole / c_curl:.2f}x) | {meaning} | {'met' if ratio <= 2 else 'MISSED'} |")
        else:
            w(f"| {name} | not measured | {meaning} | n/a |")
    rss_rows(w, rows, meta, quick)
    startup = [x["whole"] - x["s"] for x in rows.get("http.stage", []) if x["whole"] is not None]
    if startup:
        w(f"| Start-up: whole command minus staging time, HTTP stage (median) | "
          f"{med(startup):.2f} s | reported; drive it down | — |")
    if args.profile:
        w("")
        w("## CPU profile of the HTTP stage")
        w("")
        with open(args.profile) as f:
            w(f.read().rstrip("\n"))
    if jmh:
        jmh_table(w, jmh, meta)
    w("")
    w("## Notes")
    w("")
    for k in sorted(x for x in meta if x.startswith("note.")):
        w(f"- {meta[k]}")
    print("\n".join(out))


def rss_rows(w, rows, meta, quick):
    label = meta.get("main_label", "main model")
    stage_rows = [x for k in MAIN_STAGE_SERIES for x in rows.get(k, []) if x["rss"] is not None]

    def row(what, runs):
        peak = max(x["rss"] for x in runs) * 1024
        shm = [x["shm_peak"] for x in runs if x["shm_peak"] is not None]
        beside = (f"; beside it, staged bytes in shared memory: peak {max(shm) / GIB:.2f} GiB"
                  if shm else "; no shared-memory staging directory seen")
        w(f"| Peak RSS of the stage JVM, {what} (max over its stage runs) | {peak / GIB:.2f} GiB"
          f"{beside} | < 1.5 GiB | {'met' if peak < 1.5 * GIB else 'MISSED'} |")

    if stage_rows:
        row(label, stage_rows)
    small = [x for x in rows.get("rss.small", []) if x["rss"] is not None]
    if small:
        row("~2 GB model", small)
    if quick and stage_rows:
        w(f"| Peak RSS of the stage JVM, 16 GB model | not measured ({meta.get('mode')} run) | "
          f"< 1.5 GiB | n/a |")
    big = [x["rss"] for x in rows.get("http.stage", []) if x["rss"] is not None]
    if small and big:
        ms, mb = statistics.median(x["rss"] for x in small) * 1024, statistics.median(big) * 1024
        w(f"| Peak RSS growth, HTTP stage medians: ~2 GB model vs {label} | {ms / GIB:.2f} GiB vs "
          f"{mb / GIB:.2f} GiB ({(mb - ms) / MIB:+.0f} MiB) | flat in model size | "
          f"{'MISSED' if mb > ms * 1.1 else 'met'} |")


def jmh_table(w, jmh, meta):
    w("")
    w("## Header parsing (JMH)")
    w("")
    w(meta.get("jmh.what", ""))
    w("")
    w("| benchmark | mode | score ms/op | error (99.9%) | iterations ms |")
    w("|---|---|---:|---:|---|")
    scores = {}
    for b in jmh:
        name = b["benchmark"].rsplit(".", 1)[-1]
        pm = b["primaryMetric"]
        raw = [v for fork in pm["rawData"] for v in fork]
        scores[name] = pm["score"]
        err = pm.get("scoreError")
        err_s = f"{err:.1f}" if isinstance(err, (int, float)) and err == err else "n/a"
        w(f"| {name} | {b['mode']} | {pm['score']:.1f} | {err_s} | "
          + ", ".join(f"{v:.0f}" for v in raw) + " |")
    if "headerParser" in scores and "jacksonReadTree" in scores:
        w("")
        w(f"HeaderParser / readTree time: {scores['headerParser'] / scores['jacksonReadTree']:.2f}"
          " (below 1: Warmstage's validating parser is faster than building Jackson's tree).")


if __name__ == "__main__":
    main()
