#!/usr/bin/env python3
"""Renders bench/run's measurements as Markdown: machine, commands, every run, medians, ratios.

Usage: report.py RESULTS.tsv META.tsv [JMH.json]
  RESULTS.tsv  series, run, seconds, whole-command seconds (stage only), peak RSS KiB (stage only),
               percent of the read files in the page cache just before the run
  META.tsv     key, value (machine, model, commands, notes)
Nothing here measures: every number comes from the files.
"""
import json
import statistics
import sys
from collections import defaultdict

GIB = 1 << 30

# series: (label, what is timed, command key)
SERIES = [
    ("http.curl", "curl -o /dev/null, one curl per shard, all in parallel", "wall"),
    ("http.stage", "warmstage stage, HTTP (nginx), cache off", "staging"),
    ("http.dtl", "download-then-load: curl -o file per shard (parallel), then load.py", "wall"),
    ("http.dtl.download", "  download part (curl -o file, parallel)", "wall"),
    ("http.dtl.load", "  load part (load.py: each shard read into one bytearray)", "wall"),
    ("cache.fill", "warmstage stage --cache-dir, empty cache (fill), HTTP origin", "staging"),
    ("cache.hit", "warmstage stage --cache-dir, every file a cache hit", "staging"),
    ("cache.cat", "cat <cached copies> > /dev/null", "wall"),
    ("s3.ranged", "curl --aws-sigv4, 16 MiB ranges, several in flight", "wall"),
    ("s3.stage", "warmstage stage, s3:// (S3Proxy)", "staging"),
    ("rss.small", "warmstage stage, HTTP, cache off, the ~2 GB model (peak RSS)", "staging"),
]

# (name, baseline series, stage series, target ratio, meaning)
TARGETS = [
    ("HTTP: stage vs curl -o /dev/null", "http.curl", "http.stage", 0.9,
     "stage >= 0.9x the speed of curl"),
    ("HTTP: stage vs download-then-load", "http.dtl", "http.stage", 1.5,
     "stage >= 1.5x faster than download-then-load"),
    ("Cache hit: restage vs cat", "cache.cat", "cache.hit", 0.8,
     "cache-hit restage >= 0.8x the speed of cat"),
    ("S3: stage vs parallel ranged download", "s3.ranged", "s3.stage", 0.9,
     "stage >= 0.9x the speed of the ranged download"),
]


def main():
    rows = defaultdict(list)
    with open(sys.argv[1]) as f:
        for line in f:
            series, run, sec, whole, rss, cached = line.rstrip("\n").split("\t")
            rows[series].append({
                "run": int(run), "s": float(sec),
                "whole": float(whole) if whole else None,
                "rss": int(rss) if rss else None,
                "cached": cached,
            })
    meta = {}
    with open(sys.argv[2]) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                meta[k] = v
    jmh = None
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            jmh = json.load(f)
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
              "load", "first_touch", "java_opts", "runs", "elapsed"]:
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
      "staged; the whole command, JVM and embedded cluster start included, is in brackets). "
      "Baseline rows time the command's wall clock. Medians over the runs; every run listed "
      "in order. \"cached\" is the share of the files read that was in the page cache just "
      "before each run (fincore).")
    w("")
    w("| what | median s | GB/s | whole command s (median) | runs s | peak RSS MiB (median; runs) | cached % (runs) |")
    w("|---|---:|---:|---:|---|---|---|")
    for key, label, _ in SERIES:
        r = rows.get(key)
        if not r:
            continue
        bytes_ = int(meta.get("bytes.rss.small" if key == "rss.small" else "bytes", "0"))
        med = statistics.median(x["s"] for x in r)
        gbs = f"{bytes_ / med / 1e9:.3f}" if med > 0 and bytes_ else ""
        whole = [x["whole"] for x in r if x["whole"] is not None]
        wmed = f"{statistics.median(whole):.2f}" if whole else ""
        runs = ", ".join(
            f"{x['s']:.2f}" + (f" ({x['whole']:.2f})" if x["whole"] is not None else "")
            for x in r)
        rss = [x["rss"] for x in r if x["rss"] is not None]
        rss_s = (f"{statistics.median(rss) / 1024:.0f}; " + ", ".join(f"{v / 1024:.0f}" for v in rss)
                 if rss else "")
        cached = ", ".join(x["cached"] for x in r)
        w(f"| `{key}` {label} | {med:.2f} | {gbs} | {wmed} | {runs} | {rss_s} | {cached} |")
    w("")
    w("## Ratios and targets")
    w("")
    w("Ratio = baseline median wall time / stage median staging time (above 1: stage is faster). "
      "The same ratio over the stage's whole command is given for information.")
    w("")
    w("| comparison | ratio (staging) | ratio (whole command) | target | met |")
    w("|---|---:|---:|---|---|")
    for name, base, stage, target, meaning in TARGETS:
        if not rows.get(base) or not rows.get(stage):
            continue
        b = statistics.median(x["s"] for x in rows[base])
        s = statistics.median(x["s"] for x in rows[stage])
        sw = statistics.median(x["whole"] for x in rows[stage])
        ratio = b / s
        w(f"| {name} | {ratio:.2f}x | {b / sw:.2f}x | {meaning} (>= {target}) | "
          f"{'yes' if ratio >= target else 'NO'} |")
    rss_line(w, rows, meta, quick)
    if jmh:
        jmh_table(w, jmh, meta)
    w("")
    w("## Notes")
    w("")
    for k in sorted(x for x in meta if x.startswith("note.")):
        w(f"- {meta[k]}")
    print("\n".join(out))


def rss_line(w, rows, meta, quick):
    stage_rows = [x for k in ("http.stage", "cache.fill", "cache.hit", "s3.stage")
                  for x in rows.get(k, []) if x["rss"] is not None]
    if not stage_rows:
        return
    peak = max(x["rss"] for x in stage_rows) * 1024
    label = meta.get("main_label", "main model")
    verdict = "yes" if peak < 1.5 * GIB else "NO"
    if quick:
        w(f"| Peak RSS, 16 GB model | not measured ({meta.get('mode')} run) | | < 1.5 GiB | n/a |")
        w("")
        w(f"Peak RSS of `stage` over every run of the {label}: {peak / GIB:.2f} GiB "
          f"({'under' if peak < 1.5 * GIB else 'over'} 1.5 GiB; for information, the target is "
          f"for the 16 GB model).")
    else:
        w(f"| Peak RSS of stage, {label} (max over all stage runs) | {peak / GIB:.2f} GiB | | "
          f"< 1.5 GiB | {verdict} |")
    small = [x["rss"] for x in rows.get("rss.small", [])]
    big = [x["rss"] for x in rows.get("http.stage", [])]
    if small and big:
        ms, mb = statistics.median(small) * 1024, statistics.median(big) * 1024
        w("")
        w(f"Peak RSS, HTTP stage, medians: {ms / GIB:.2f} GiB for the ~2 GB model, "
          f"{mb / GIB:.2f} GiB for the {label} ({(mb - ms) / (1 << 20):+.0f} MiB; "
          f"{'grows' if mb > ms * 1.1 else 'does not grow'} with model size).")


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
