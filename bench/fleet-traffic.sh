#!/usr/bin/env bash
# Per-host traffic of a simulated fleet (one TaskManager per simulated host): for each shape
# HOSTSxSLOTS, with the cache off and on, in each fetch mode (fan-out twice: fan-out/slot with
# warmstage.fleet.host-relay false, fan-out/host with it true), a ~15 MiB 3-shard model served by a
# counting origin on 127.0.0.1 is staged on every slot, and each host's row gives (MiB): origin =
# bytes its readers fetched from the origin (the readers' bytesFromOrigin), read = from anywhere
# (origin, cache, kept staging files), splits its readers read, and Flink's task I/O counters of the
# chunk exchange: out = numBytesOut of its source subtasks, in-loc / in-rem = numBytesInLocal /
# numBytesInRemote of the subtasks receiving the source's records (staging, or the relays with the
# host relay), out-rem = out - in-loc (sent to other TaskManagers), relayed = what its staging
# subtasks received from its relays over local channels (host relay only).
# served = the origin's own count for the run, index and header reads included, in models;
# stage-s = the run's staging time (job RUNNING to its last model event), seconds.
# --gate-cap N sets taskmanager.network.memory.read-buffer.required-per-gate.max on every TaskManager.
# per-target chains source and staging: no exchange, zeros.
#
# Usage: bench/fleet-traffic.sh [--gate-cap N] [HOSTSxSLOTS ...]   (default 4x2 8x1 2x4)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prev=""
for s in "$@"; do
  if [[ "$s" == --gate-cap ]]; then prev="$s"; continue; fi
  if [[ "$prev" == --gate-cap ]]; then
    [[ "$s" =~ ^[1-9][0-9]*$ ]] || { echo "bench/fleet-traffic.sh: --gate-cap takes a positive integer, got '$s'" >&2; exit 2; }
    prev=""; continue
  fi
  [[ "$s" =~ ^[0-9]+x[1-9][0-9]*$ ]] || { echo "bench/fleet-traffic.sh: shapes are HOSTSxSLOTS, got '$s'" >&2; exit 2; }
done
"$ROOT/warmstage" --version >/dev/null  # builds the jars and the classpath file when stale
echo "$(nproc) cores; $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD)"
exec java -Xmx2g -XX:MaxDirectMemorySize=4g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j.configurationFile="$ROOT/conf/log4j2-cli.properties" \
  -Dwarmstage.log.file="$ROOT/logs/warmstage.log" \
  -cp "$ROOT/operators/target/warmstage-operators-0.1.0-SNAPSHOT.jar:$ROOT/job/target/warmstage-job-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/job/target/classpath.txt")" \
  io.warmstage.job.fleet.FleetTrafficMain "$@"
