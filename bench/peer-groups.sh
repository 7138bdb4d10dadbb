#!/usr/bin/env bash
# One job per group of hosts sharing one fetch, on one machine: what a second group pays to stage a
# model from a first group's host caches (warmstage cache serve, warmstage.cache.peers) against
# staging it from the origin, run in turn (origin, peer, origin, peer, ...).
#
# Usage: bench/peer-groups.sh [--runs N] [--scale N] [--peer-build DIR ...]
#   --runs N         runs of each side, in turn (default 3); medians are reported
#   --scale N        Llama-3-8B layout at 1/N (default 8: ~2 GB in 4 shards)
#   --peer-build DIR another built checkout of Warmstage (mvn package done) whose `cache serve`
#                    serves the same cache as one more side, "peer@<DIR's name>", in turn with the
#                    others: to compare two peer servers' costs in one run (repeatable)
# Environment: WARMSTAGE_BENCH_DIR (work dir shared with bench/run, default /tmp/warmstage-bench:
#   the generated model is kept there for reuse).
#
# The origin is a private nginx (sendfile, loopback). Group A stages the model once from it into
# cache directory A; `warmstage cache serve --cache-dir A` then serves A as a peer. Each run stages
# the model with a fresh cache directory (every side writes its host's copy), cpu device, one slot:
#   origin: warmstage stage --model http://ORIGIN/...index.json --cache-dir B
#   peer:   the same with -D warmstage.cache.peers=http://127.0.0.1:PORT
# Columns: wall and CPU seconds of the stage process (/usr/bin/time), its CPU-s per GB, CPU seconds
# of the serving side during the run (nginx's workers or the peer server's JVM, from
# /proc/PID/stat), and the bytes the origin sent (nginx's access log, $bytes_sent).
# Needs nginx, curl, /usr/bin/time and python3; everything listens on 127.0.0.1 and is stopped on
# exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
SCALE=8
BUILDS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --scale) SCALE="$2"; shift ;;
    --peer-build) BUILDS+=("$(cd "$2" && pwd)"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0 ;;
    *) echo "peer-groups.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$SCALE" =~ ^[1-9][0-9]*$ ]] \
  || { echo "peer-groups.sh: --runs and --scale need whole numbers" >&2; exit 2; }
for tool in nginx curl /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "peer-groups.sh: needs $tool" >&2; exit 2; }
done

WORK="${WARMSTAGE_BENCH_DIR:-/tmp/warmstage-bench}"
DATA="$WORK/data"
MODEL="$DATA/models/llama3-8b-s$SCALE"
SCRATCH="$(mktemp -d "$WORK/peer-groups.XXXXXX")"
STAGING="$(mktemp -d /dev/shm/warmstage-peer-groups.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # the launcher's JVM child outlives the launcher's shell
  pkill -f "WarmstageCli cache serve --cache-dir $SCRATCH/" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$SCRATCH" "$STAGING"
}
trap cleanup EXIT
log() { printf '[peer-groups %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() {
  for _ in $(seq 1 240); do curl -s -o /dev/null "$1" && return 0; sleep 0.25; done
  echo "peer-groups.sh: no answer from $1" >&2; exit 1
}
cpu_of() {   # PIDS...: their utime + stime in seconds, children that were waited for included
  python3 - "$@" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
total = 0
for pid in sys.argv[1:]:
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    total += sum(int(x) for x in f[11:15])
print(f"{total / hz:.2f}")
PY
}

if [[ ! -f "$MODEL/.complete" ]]; then
  rm -rf "$MODEL"
  log "generating the Llama-3-8B layout at 1/$SCALE into $MODEL"
  "$ROOT/warmstage" generate "$MODEL" --layout "$ROOT/../shared/data/layouts/meta-llama-3-8b.json" \
    --scale "$SCALE" >/dev/null
  touch "$MODEL/.complete"
fi
BYTES=$(find "$MODEL" -name '*.safetensors' -printf '%s\n' | awk '{s += $1} END {print s}')

# --- origin: nginx with an access log of bytes sent
NGINX_PORT=$(free_port)
mkdir -p "$SCRATCH/nginx/tmp"
cat >"$SCRATCH/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $SCRATCH/nginx/nginx.pid;
error_log $SCRATCH/nginx/error.log warn;
events { worker_connections 256; }
http {
    log_format sent '\$bytes_sent';
    access_log $SCRATCH/nginx/access.log sent;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $SCRATCH/nginx/tmp/client_body;
    proxy_temp_path $SCRATCH/nginx/tmp/proxy;
    fastcgi_temp_path $SCRATCH/nginx/tmp/fastcgi;
    uwsgi_temp_path $SCRATCH/nginx/tmp/uwsgi;
    scgi_temp_path $SCRATCH/nginx/tmp/scgi;
    server { listen 127.0.0.1:$NGINX_PORT; root $DATA; }
}
CONF
nginx -p "$SCRATCH/nginx/" -c "$SCRATCH/nginx/nginx.conf" -e "$SCRATCH/nginx/error.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"
nginx_workers() { pgrep -P "$(cat "$SCRATCH/nginx/nginx.pid")" | tr '\n' ' '; }
origin_bytes() { awk '{s += $1} END {printf "%.0f\n", s}' "$SCRATCH/nginx/access.log"; }
URI="http://127.0.0.1:$NGINX_PORT/models/$(basename "$MODEL")/model.safetensors.index.json"

stage() {   # CACHE_DIR [ARGS...]: prints "wall user+sys peak_kib"
  local cache="$1"; shift
  rm -rf "$cache" "$STAGING"/*
  /usr/bin/time -f '%e %U %S %M' -o "$SCRATCH/time" "$ROOT/warmstage" stage --model "$URI" \
    --cache-dir "$cache" -D "warmstage.staging.dir=$STAGING" "$@" >"$SCRATCH/stage.log" 2>&1 \
    || { tail -20 "$SCRATCH/stage.log" >&2; echo "peer-groups.sh: stage failed" >&2; exit 1; }
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$SCRATCH/time"
}

log "group A: staging $(basename "$MODEL") ($BYTES bytes) from the origin into cache A"
stage "$SCRATCH/cache-a" >/dev/null
log "group A: the origin sent $(origin_bytes) bytes"
# --- peer servers over cache A: this checkout's ("peer") and one per --peer-build
SIDES=(origin)
declare -A PORT_OF PID_OF
for build in "$ROOT" "${BUILDS[@]}"; do
  side=peer
  [[ $build == "$ROOT" ]] || side="peer@$(basename "$build")"
  port=$(free_port)
  "$build/warmstage" cache serve --cache-dir "$SCRATCH/cache-a" --port "$port" \
    >"$SCRATCH/serve-$port.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/"
  pid=$(pgrep -f "WarmstageCli cache serve --cache-dir $SCRATCH/cache-a --port $port" | head -1)
  [[ -n "$pid" ]] || { echo "peer-groups.sh: no peer server JVM for $build" >&2; exit 1; }
  SIDES+=("$side"); PORT_OF[$side]=$port; PID_OF[$side]=$pid
  log "$side: $(head -1 "$SCRATCH/serve-$port.log")"
done

printf 'side run wall_s stage_cpu_s stage_cpu_s_per_gb server_cpu_s origin_bytes peak_rss_mib\n' \
  >"$SCRATCH/rows"
for run in $(seq 1 "$RUNS"); do
  for side in "${SIDES[@]}"; do
    args=()
    server="$(nginx_workers)"
    if [[ $side != origin ]]; then
      args=(-D "warmstage.cache.peers=http://127.0.0.1:${PORT_OF[$side]}")
      server="${PID_OF[$side]}"
    fi
    # shellcheck disable=SC2086
    cpu0=$(cpu_of $server)
    sent0=$(origin_bytes)
    read -r wall cpu peak < <(stage "$SCRATCH/cache-b" "${args[@]}")
    # shellcheck disable=SC2086
    cpu1=$(cpu_of $server)
    sent=$(( $(origin_bytes) - sent0 ))
    python3 - "$side" "$run" "$wall" "$cpu" "$BYTES" "$cpu0" "$cpu1" "$sent" "$peak" \
      >>"$SCRATCH/rows" <<'PY'
import sys
side, run, wall, cpu, b, c0, c1, sent, peak = sys.argv[1:]
print(side, run, wall, cpu, f"{float(cpu) / (int(b) / 1e9):.2f}", f"{float(c1) - float(c0):.2f}",
      sent, f"{int(peak) / 1024:.0f}")
PY
    log "$(tail -1 "$SCRATCH/rows")"
    log "  $(grep -E '^ +[0-9.]+s +staged' "$SCRATCH/stage.log" | tail -1 | cut -c1-110)"
  done
done

python3 - "$SCRATCH/rows" "$BYTES" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])][1:]
gb = int(sys.argv[2]) / 1e9
sides = list(dict.fromkeys(x[0] for x in rows))
print(f"model {gb:.2f} GB; medians of {len(rows) // len(sides)} runs per side, run in turn")
print("| side | wall s | stage CPU s | stage CPU-s/GB | serving CPU s | origin bytes | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
med = {}
for side in sides:
    r = [x for x in rows if x[0] == side]
    m = [statistics.median(float(x[i]) for x in r) for i in range(2, 8)]
    med[side] = m
    print(f"| {side} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} | {m[3]:.2f} | {m[4]:,.0f} | {m[5]:.0f} |")
o = med["origin"]
for side in sides[1:]:
    p = med[side]
    print(f"{side} / origin: wall {p[0] / o[0]:.2f}x, stage CPU {p[1] / o[1]:.2f}x,"
          f" serving CPU {p[3] / max(o[3], 0.01):.2f}x")
PY
