#!/usr/bin/env bash
# Origin traffic and staging time of each fetch mode, side by side in one run: the demo model
# (~118 MiB, 3 shards, served over HTTP on 127.0.0.1 by a counting origin) placed on every slot of
# a simulated fleet of TASK_MANAGERS x SLOTS_PER_TM slots, cache on (a fresh cache per run).
#
# Usage: bench/fleet-modes.sh [TASK_MANAGERS] [SLOTS_PER_TM] [RUNS]   (default 4 2 1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMS="${1:-4}"
PER="${2:-2}"
RUNS="${3:-1}"
for v in "$TMS" "$PER" "$RUNS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench/fleet-modes.sh: arguments are whole numbers >= 1, got '$v'" >&2; exit 2; }
done
[[ "$TMS" -ge 2 ]] || { echo "bench/fleet-modes.sh: a fleet needs at least 2 TaskManagers" >&2; exit 2; }
echo "fleet: $TMS TaskManagers x $PER slots, demo model on every slot; $(nproc) cores; $(date -u +%FT%TZ)"
printf '%-11s %-4s %14s %8s %12s %12s\n' mode run origin-bytes copies staging-s whole-s
for ((r = 1; r <= RUNS; r++)); do
  for mode in per-target per-host fan-out; do
    if ! out=$(timeout 1800 "$ROOT/warmstage" demo --task-managers "$TMS" --slots-per-tm "$PER" --fetch-mode "$mode" 2>&1); then
      echo "$out" | tail -20 >&2; echo "$mode: demo failed" >&2; exit 1
    fi
    served=$(grep -o 'origin    [0-9]* bytes' <<<"$out" | grep -o '[0-9]*')
    copies=$(grep -o '= [0-9.]*x' <<<"$out" | tr -d '=x ')
    staging=$(grep -o '[0-9.]* staging' <<<"$out" | cut -d' ' -f1)
    whole=$(grep -o '[0-9.]* whole command' <<<"$out" | cut -d' ' -f1)
    grep -q 'models    1 staged, 0 failed' <<<"$out" || { echo "$out"; echo "$mode: not staged" >&2; exit 1; }
    printf '%-11s %-4s %14s %8s %12s %12s\n' "$mode" "$r" "$served" "$copies" "$staging" "$whole"
  done
done
