#!/usr/bin/env python3
"""Time-to-warm model: N hosts x G GPUs warmed with a model of M bytes, per fetch mode.

Usage: python3 bench/fleet-model.py [--inputs FILE.json] [--hosts 10,100,1000,10000]
                                    [--gpus 8] [--model-gb 16,140] [--modes a,b,...] [--flag value ...]

Every input is a flag; --inputs reads a JSON object {flag_name: value} (names as below, with '_').
Where each default comes from is in SOURCES and in docs/FLEET-SCALE.md. Standard library only.

Time-to-warm is the slowest of the bottlenecks (everything streams chunk by chunk, so the stages
overlap): origin egress, the busiest host's NIC out and in, each GPU's device writes, the host's
CPU; a tree adds its pipeline fill. Job start-up is not in it (--startup-s adds a fixed figure).
"""
import argparse
import json
import math
import sys

GB = 1e9
GIB = 2**30

DEFAULTS = {
    "origin_gbps": 12.5,  # GB/s the origin can serve in all
    "nic_gbps": 25.0,  # GB/s per host, each direction
    "device_gbps": 25.0,  # GB/s of host-to-device writes per GPU
    "cores": 56,  # cores per host that staging may use
    "fetch_cpu_s_per_gb": 0.73,  # CPU-s per GB read from the origin (HTTP)
    "stage_cpu_s_per_gb": 0.80,  # CPU-s per GB a slot stages (copy into device memory, CRC)
    "exchange_cpu_s_per_gb": 0.88,  # CPU-s per GB sent or received over Flink's network
    "local_hop_cpu_s_per_gb": 0.0,  # CPU-s per GB handed to a slot over a local channel, per side
    "net_overhead": 1.0,  # measured / formula bytes over Flink's network
    "skew": 1.0,  # busiest host's fetch share / even share
    "segment_bytes": 32768,  # taskmanager.memory.segment-size
    "buffers_per_channel": 2,  # Flink 2.3 built-in
    "floating_per_gate": 8,  # Flink 2.3 built-in
    "gate_cap": 0,  # taskmanager.network.memory.read-buffer.required-per-gate.max; 0: unset
    "tm_network_bytes": 359703515,  # network memory of conf/config.yaml's 4g TaskManager
    "jm_heap_bytes": 1073741824,  # heap of conf/config.yaml's 1600m JobManager
    "split_bytes": 16 * 2**20,  # warmstage.source.split-size
    "destination_heap_bytes": 28.2,  # enumerator heap per split destination
    "destination_wire_bytes": 6,  # serialized bytes per split destination
    "tree_fanout": 2,  # children per host in a tree
    "group_hosts": 0,  # hosts per job in 'groups'; 0: the most the TaskManager's network fits
    "peer_serve_cpu_s_per_gb": 0.44,  # CPU-s per GB a host's cache server sends to peers
    "chunk_bytes": 4 * 2**20,  # one record (a tree's hop)
    "startup_s": 0.0,  # fixed start-up added to every time
}

SOURCES = {
    "origin_gbps": "assumption: one origin endpoint behind 100 Gb/s",
    "nic_gbps": "assumption: one 200 Gb/s port of the host's north-south NIC",
    "device_gbps": "assumption, between InstantTensor's 34.5 GB/s to one H200 and PCIe Gen5 x16's "
    "~50 GB/s (DESIGN.md, public figures); not measured here (no GPU run yet, docs/GPU.md)",
    "cores": "assumption: half of a 2 x 56-core H200 host (MLCommons H200-SXM-141GBx8 system)",
    "fetch_cpu_s_per_gb": "measured: BENCHMARKS.md, bench/http-clients.sh, apache arm 0.73",
    "stage_cpu_s_per_gb": "measured: BENCHMARKS.md profile of file:// stage, staging writers "
    "10.2 + CRC 0.9 + records 1.7 CPU-s over 16.06 GB",
    "exchange_cpu_s_per_gb": "derived: DESIGN.md 'a keyed exchange roughly halves throughput on 2 "
    "cores': the exchange costs about the 1.76 CPU-s/GB of http.stage, half per side",
    "local_hop_cpu_s_per_gb": "0: a zero-copy hand-off on the host; the keyed exchanges as built"
    " serialize and deserialize each local copy: about the exchange's 0.88 per side (FLEET-SCALE.md,"
    " the relay's CPU on one machine)",
    "net_overhead": "1.0 until the measured per-host traffic replaces it",
    "skew": "assumption: even spread",
    "segment_bytes": "Flink 2.3.0 default (TaskManagerOptions.MEMORY_SEGMENT_SIZE)",
    "buffers_per_channel": "Flink 2.3.0 NettyShuffleEnvironmentConfiguration default",
    "floating_per_gate": "Flink 2.3.0 NettyShuffleEnvironmentConfiguration default",
    "gate_cap": "taskmanager.network.memory.read-buffer.required-per-gate.max (0: unset, Flink's"
                " streaming default, no cap)",
    "tm_network_bytes": "Flink 2.3.0 TaskExecutorProcessUtils for process.size 4g, off-heap 1g",
    "jm_heap_bytes": "Flink 2.3.0 JobManagerProcessUtils for process.size 1600m",
    "split_bytes": "ReadOptions.SPLIT_SIZE default",
    "destination_heap_bytes": "measured: java bench/lib/DestinationHeap.java 8000 100 (28.1); a"
    " host's destination with its relay list shared across splits: ... 1000 800 8 (28.5)",
    "destination_wire_bytes": "ChunkSplitSerializer: int + 2 booleans",
    "tree_fanout": "choice",
    "group_hosts": "choice; 0 picks the largest group whose TaskManagers' network-buffer minimum"
    " (host-level fan-out as built) fits tm_network_bytes",
    "peer_serve_cpu_s_per_gb": "measured: bench/peer-groups.sh --runs 4, the peer server's JVM,"
    " 0.88 CPU-s for the 2.01 GB model (median of 4; nginx's workers 0.51 for the same bytes)",
    "chunk_bytes": "DESIGN.md: records at or under 4 MiB",
    "startup_s": "not modelled",
}

MODES = ["per-target", "per-host", "fan-out", "fan-out-host", "relay", "tree", "groups"]


def exchange_buffers(p, subtasks, bpc=2, floating=8):
    """Network buffers one TaskManager needs for one all-to-all exchange of parallelism p.

    Each of `subtasks` producer subtasks has one result partition of p subpartitions, each of
    `subtasks` consumer subtasks one input gate of p channels (Flink 2.3.0 NettyShuffleUtils,
    InputGateSpecUtils, streaming): output min p + 1, max p * bpc + floating; input min
    p * bpc + 1, max p * bpc + floating. Returns (minimum, default) per TaskManager.
    """
    out_min, out_max = p + 1, p * bpc + floating
    in_min, in_max = p * bpc + 1, p * bpc + floating
    return subtasks * (out_min + in_min), subtasks * (out_max + in_max)


def gate_min(channels, local, cap=0, bpc=2):
    """Buffers an input gate of `channels` channels holds at the minimum (Flink 2.3.0
    InputGateSpecUtils, streaming): it requires r = min(cap, channels * bpc + 1) (no cap: all of
    it), of which e = min(bpc, (r - 1) // channels) exclusive per channel, taken by the remote
    channels only (`channels - local`; a local channel reads its producer's buffers), and
    r - e * channels floating. Checked against bench/network-buffers.sh.
    """
    required = channels * bpc + 1
    if cap:
        required = min(cap, required)
    e = min(bpc, (required - 1) // channels)
    return e * (channels - local) + required - e * channels


def job_buffers(p, g, exchanges, cap=0, bpc=2, floating=8):
    """Network buffers on the busiest TaskManager of the staging job as built, G slots each.

    Per slot: the source's result partition (p subpartitions: min p + 1, max p * bpc +
    floating), with the host relay a relay (an input gate of p channels and a result partition
    of p), the stage (an input gate of p channels and a result partition of 1 to the event sink:
    min 2, max bpc + floating); one TaskManager also holds the event sink's gate (p channels).
    `exchanges` is 1 (per-host, fan-out without the relay) or 2 (with it). Of a gate's p
    channels, g come from the same TaskManager. Returns (minimum, default); the cap changes only
    the minimum (the gate's target, p * bpc + floating, stays the default).
    """
    gmin = gate_min(p, g, cap, bpc)
    out_max = in_max = p * bpc + floating
    bmin = g * (exchanges * (p + 1 + gmin) + 2) + gmin
    bdef = g * (exchanges * (out_max + in_max) + bpc + floating) + in_max
    return bmin, bdef


def hosts_fit(g, exchanges, a, limit=10**7):
    """The most hosts (G slots each) whose busiest TaskManager's minimum fits a.tm_network_bytes;
    0 if not even one host fits."""
    buffers = a.tm_network_bytes // a.segment_bytes
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if job_buffers(mid * g, g, exchanges, a.gate_cap, a.buffers_per_channel)[0] <= buffers:
            lo = mid
        else:
            hi = mid - 1
    return lo


def traffic(mode, n, g, m, a):
    """Per-host bytes and exchange shape of one mode.

    Returns a dict: origin (bytes served by the origin in all), fetch (busiest host's bytes from
    the origin), sent / recv (busiest host's bytes over the network between hosts, besides the
    origin), staged (bytes the host's slots stage), exchange (parallelism of the all-to-all
    exchange, 0 if none), per_tm (subtasks per TaskManager on each side of it), exchanges (of the
    built job's graph: P x P exchanges, 0 where the buffers come from the one-exchange estimate),
    dests (split destinations the enumerator holds for one model), jobs, hops (a tree's depth).
    """
    p = n * g
    splits = math.ceil(m / a.split_bytes)
    share = min(1.0, a.skew / n) * m  # the busiest host's fetched bytes in a spread fetch
    remote = (n - 1) / n  # share of the model fetched by other hosts
    ov = a.net_overhead
    r = dict(staged=g * m, jobs=1, hops=0, exchanges=0, local=0)
    if mode == "per-target":  # each slot fetches its own copy; chained, no exchange
        r.update(origin=p * m, fetch=g * m, sent=0, recv=0, exchange=0, per_tm=0,
                 dests=p * splits)
    elif mode == "per-host":  # one fetch per host, local hand-off (keyed exchange in the graph)
        r.update(origin=n * m, fetch=m, sent=0, recv=0, exchange=p, per_tm=g, dests=p * splits,
                 exchanges=1, local=g * m)
    elif mode == "fan-out":  # today: each fetched chunk goes to every remote slot
        r.update(origin=m, fetch=share, sent=share * (n - 1) * g * ov,
                 recv=remote * m * g * ov, exchange=p, per_tm=g, dests=p * splits, exchanges=1,
                 local=share * g)
    elif mode == "fan-out-host":  # once per remote host, then the host's slots locally; as
        # built, a relay in every slot behind a second P x P exchange (whose data stays local)
        r.update(origin=m, fetch=share, sent=share * (n - 1) * ov, recv=remote * m * ov,
                 exchange=p, per_tm=g, dests=n * splits, exchanges=2, local=share + g * m)
    elif mode == "relay":  # host-level, through one relay subtask per host: an N x N exchange
        r.update(origin=m, fetch=share, sent=share * (n - 1) * ov, recv=remote * m * ov,
                 exchange=n, per_tm=1, dests=n * splits)
    elif mode == "tree":  # the root fetches, every host forwards whole chunks to k children
        k = a.tree_fanout
        depth = math.ceil(math.log(n * (k - 1) + 1, k)) - 1 if k > 1 else n - 1
        r.update(origin=m, fetch=m, sent=(k if n > 1 else 0) * m * ov, recv=m * ov if n > 1 else 0,
                 exchange=0, per_tm=0, dests=splits + n, hops=depth)
    else:
        raise ValueError(f"unknown mode '{mode}': one of {', '.join(MODES)}")
    return r


def group_hosts(n, g, a):
    """Hosts per job in 'groups': --group-hosts, or the most whose TaskManagers fit."""
    return min(n, a.group_hosts or max(1, hosts_fit(g, 2, a)))


def warm_groups(n, g, m, a):
    """'groups' as built: one job per group of H hosts, host-level fan-out inside each, in two
    tiers. The first group stages from the origin and publishes into its hosts' caches; then every
    other group at once stages from the first group's caches (warmstage cache serve,
    warmstage.cache.peers), its readers spreading the files over the first group's H hosts. The
    time is the sum of the two tiers (a later group that started early would find no published
    copy and read the origin)."""
    h = group_hosts(n, g, a)
    jobs = math.ceil(n / h)
    first = warm("fan-out-host", h, g, m, a)
    serve = (jobs - 1) * m / h  # what each host of the first group sends to the later groups
    later = {k: v for k, v in first["parts"].items() if k != "origin"}
    later["peer-out"] = serve / (a.nic_gbps * GB)
    later["peer-cpu"] = serve * a.peer_serve_cpu_s_per_gb / GB / a.cores
    t_later = max(later.values()) if jobs > 1 else 0.0
    b_later = max(later, key=later.get)
    r = dict(first)
    r.update(mode="groups", hosts=n, jobs=jobs, group_hosts=h,
             time=first["time"] + t_later + (a.startup_s if jobs > 1 else 0.0),
             bottleneck=first["bottleneck"] + ("+" + b_later if jobs > 1 else ""),
             parts={"first": first["parts"], "later": later if jobs > 1 else {}},
             sent=first["sent"] + serve)
    return r


def warm(mode, n, g, m, a):
    """Time-to-warm and its parts for one mode (seconds, bytes, counts)."""
    if mode == "groups":
        return warm_groups(n, g, m, a)
    t = traffic(mode, n, g, m, a)
    p_x = t["exchange"]
    cpu = (a.fetch_cpu_s_per_gb * t["fetch"] + a.stage_cpu_s_per_gb * t["staged"]
           + a.exchange_cpu_s_per_gb * (t["sent"] + t["recv"])
           + a.local_hop_cpu_s_per_gb * 2 * t["local"]) / GB
    parts = {
        "origin": t["origin"] / (a.origin_gbps * GB),
        "nic-out": t["sent"] / (a.nic_gbps * GB),
        "nic-in": (t["fetch"] + t["recv"]) / (a.nic_gbps * GB),
        "device": m / (a.device_gbps * GB),
        "cpu": cpu / a.cores,
    }
    if mode == "tree":  # the root's fetch is bounded by the origin and its own NIC
        parts["origin"] = m / (min(a.origin_gbps, a.nic_gbps) * GB)
    bottleneck = max(parts, key=parts.get)
    fill = t["hops"] * a.chunk_bytes / (a.nic_gbps * GB)
    fit = None
    if p_x and t["exchanges"]:
        bmin, bdef = job_buffers(p_x, t["per_tm"], t["exchanges"], a.gate_cap,
                                 a.buffers_per_channel, a.floating_per_gate)
        fit = hosts_fit(g, t["exchanges"], a)
    elif p_x:
        bmin, bdef = exchange_buffers(p_x, t["per_tm"], a.buffers_per_channel, a.floating_per_gate)
    else:
        bmin = bdef = 0
    tm_hosts = p_x // g if mode != "relay" else p_x  # TaskManagers in the exchange
    limits = []
    if bmin * a.segment_bytes > a.tm_network_bytes:
        limits.append("tm-net-mem")
    if t["dests"] * a.destination_heap_bytes > a.jm_heap_bytes / 2:
        limits.append("jm-heap")
    return {
        "mode": mode, "hosts": n, "gpus": g, "model": m,
        "time": parts[bottleneck] + fill + a.startup_s, "bottleneck": bottleneck, "parts": parts,
        "origin": t["origin"], "sent": t["sent"], "recv": t["recv"],
        "buf_min": bmin * a.segment_bytes, "buf_default": bdef * a.segment_bytes,
        "buffers_min": bmin, "tm_fits_hosts": fit,
        "channels": p_x * p_x, "tcp_per_tm": 2 * (tm_hosts - 1) if p_x else 0,
        "dest_heap": t["dests"] * a.destination_heap_bytes, "jobs": t["jobs"], "limits": limits,
    }


def fmt_bytes(b):
    if b == 0:
        return "0"
    if b >= 1e12:
        return f"{b / 1e12:.1f} TB"
    return f"{b / GB:.1f} GB" if b >= 1e8 else f"{b / 1e6:.1f} MB"


def fmt_gib(b):
    return "-" if b == 0 else (f"{b / GIB:.2f} GiB" if b >= GIB / 10 else f"{b / 2**20:.1f} MiB")


def fmt_count(c):
    if c == 0:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if c >= div:
            return f"{c / div:.3g}{unit}"
    return str(c)


def label(r):
    """The mode, and for groups the jobs and hosts per job."""
    if r["mode"] == "groups":
        return f"groups ({r['jobs']:,} x {r['group_hosts']:,} hosts)"
    return r["mode"]


def table(rows):
    head = ("| model | hosts | mode | time-to-warm s | bottleneck | origin egress | per-host egress"
            " | per-host ingress | net buffers/TM min (default) | TM fits hosts | channels | TCP/TM"
            " | split dests heap | over limit |")
    lines = [head, "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['model'] / GB:g} GB | {r['hosts']:,} | {label(r)} | {r['time']:,.1f}"
            f" | {r['bottleneck']} | {fmt_bytes(r['origin'])} | {fmt_bytes(r['sent'])}"
            f" | {fmt_bytes(r['recv'])} | {fmt_gib(r['buf_min'])} ({fmt_gib(r['buf_default'])})"
            f" | {'-' if r['tm_fits_hosts'] is None else format(r['tm_fits_hosts'], ',')}"
            f" | {fmt_count(r['channels'])} | {fmt_count(r['tcp_per_tm'])}"
            f" | {fmt_gib(r['dest_heap'])} | {', '.join(r['limits']) or '-'} |")
    return "\n".join(lines)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", help="JSON object of inputs (flag names with '_')")
    ap.add_argument("--hosts", default="10,100,1000,10000")
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--model-gb", default="16,140")
    ap.add_argument("--modes", default="per-target,per-host,fan-out,fan-out-host")
    ap.add_argument("--json", action="store_true", help="print JSON rows instead of Markdown")
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=None,
                        help=f"default {v}: {SOURCES[k]}")
    a = ap.parse_args(argv)
    given = {k: v for k, v in vars(a).items() if k in DEFAULTS and v is not None}
    merged = dict(DEFAULTS)
    if a.inputs:
        with open(a.inputs) as f:
            loaded = json.load(f)
        unknown = sorted(set(loaded) - set(DEFAULTS))
        if unknown:
            ap.error(f"{a.inputs}: unknown inputs {unknown}; known: {sorted(DEFAULTS)}")
        merged.update({k: type(DEFAULTS[k])(v) for k, v in loaded.items()})
    merged.update(given)  # flags win over the file
    for k, v in merged.items():
        setattr(a, k, v)
    a.hosts = [int(x) for x in a.hosts.split(",")]
    a.model_gb = [float(x) for x in a.model_gb.split(",")]
    a.modes = a.modes.split(",")
    for mode in a.modes:
        if mode not in MODES:
            ap.error(f"unknown mode '{mode}': one of {', '.join(MODES)}")
    if a.gpus < 1 or min(a.hosts) < 1:
        ap.error("--gpus and --hosts must be >= 1")
    return a


def main(argv):
    a = parse(argv)
    rows = [warm(mode, n, a.gpus, mgb * GB, a)
            for mgb in a.model_gb for n in a.hosts for mode in a.modes]
    if a.json:
        print(json.dumps(rows, indent=1))
    else:
        print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
