#!/usr/bin/env bash
# What the per-gate cap of conf/config.yaml costs: fan-out with the host relay on a simulated fleet
# of 8 TaskManagers x 3 slots (parallelism 24: every input gate has 24 channels, so a cap of 16
# leaves no exclusive buffer per channel), the Llama-3-8B layout at 1/64 (~240 MB) staged on every
# slot, run in turn:
#   ample:  no cap, the embedded TaskManagers' default network memory
#   capped: taskmanager.network.memory.read-buffer.required-per-gate.max=16 and network memory of
#           NET_MB per TaskManager (default 10 MiB = 320 buffers of 32 KiB: 1.19x the capped
#           minimum of 268 buffers, under the uncapped minimum of 457, where the job cannot start)
# Columns: wall and CPU seconds of the whole stage command (/usr/bin/time), and its staging seconds
# (job running to the last model staged, from the summary).
#
# Usage: bench/gate-cap.sh [--runs N] [--net-mb NET_MB]
# Environment: WARMSTAGE_BENCH_DIR (work dir shared with bench/run, default /tmp/warmstage-bench).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
NET_MB=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --net-mb) NET_MB="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0 ;;
    *) echo "gate-cap.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$NET_MB" =~ ^[1-9][0-9]*$ ]] \
  || { echo "gate-cap.sh: --runs and --net-mb need whole numbers" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "gate-cap.sh: needs /usr/bin/time" >&2; exit 2; }
WORK="${WARMSTAGE_BENCH_DIR:-/tmp/warmstage-bench}"
MODEL="$WORK/data/models/llama3-8b-s64"
if [[ ! -f "$MODEL/.complete" ]]; then
  rm -rf "$MODEL"
  "$ROOT/warmstage" generate "$MODEL" --layout "$ROOT/../shared/data/layouts/meta-llama-3-8b.json" \
    --scale 64 >/dev/null
  touch "$MODEL/.complete"
fi
STAGING="$(mktemp -d /dev/shm/warmstage-gate-cap.XXXXXX)"
OUT="$(mktemp -d)"
trap 'rm -rf "$STAGING" "$OUT"' EXIT

run() {   # SIDE RUN: one stage, prints "SIDE RUN wall cpu staging_s"
  local extra=()
  if [[ $1 == capped ]]; then
    extra=(-D taskmanager.network.memory.read-buffer.required-per-gate.max=16
      -D "taskmanager.memory.network.min=${NET_MB}mb" -D "taskmanager.memory.network.max=${NET_MB}mb")
  fi
  rm -rf "${STAGING:?}"/*
  /usr/bin/time -f '%e %U %S' -o "$OUT/time" "$ROOT/warmstage" stage --task-managers 8 \
    --slots-per-tm 3 --parallelism 24 --fetch-mode fan-out \
    --model "file://$MODEL/model.safetensors.index.json" -D "warmstage.staging.dir=$STAGING" \
    "${extra[@]}" >"$OUT/stage.log" 2>&1 \
    || { tail -5 "$OUT/stage.log" >&2; echo "gate-cap.sh: $1 run $2 failed" >&2; exit 1; }
  local staging
  staging=$(awk '$1 == "seconds" {print $2}' "$OUT/stage.log")
  awk -v s="$1" -v r="$2" -v st="$staging" '{printf "%s %s %s %.2f %s\n", s, r, $1, $2 + $3, st}' \
    "$OUT/time"
}

echo "side run wall_s cpu_s staging_s"
for r in $(seq 1 "$RUNS"); do
  run ample "$r" | tee -a "$OUT/rows"
  run capped "$r" | tee -a "$OUT/rows"
done
python3 - "$OUT/rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {s: [statistics.median(float(x[i]) for x in rows if x[0] == s) for i in (2, 3, 4)]
       for s in ("ample", "capped")}
for s, (w, c, st) in med.items():
    print(f"median {s}: wall {w:.2f} s, CPU {c:.2f} s, staging {st:.2f} s")
a, c = med["ample"], med["capped"]
print(f"capped / ample: wall {c[0] / a[0]:.2f}x, CPU {c[1] / a[1]:.2f}x, staging {c[2] / a[2]:.2f}x")
PY
