#!/usr/bin/env bash
# The smallest network memory per TaskManager at which fan-out starts and stages the small model
# (~15 MiB BF16 in 3 shards, 256 KiB splits) on every slot of a simulated fleet (one TaskManager per
# simulated host), found by bisection over taskmanager.memory.network.min = max in 32 KiB buffers,
# for each shape HOSTSxSLOTS, with warmstage.fleet.host-relay false and true, and with
# taskmanager.network.memory.read-buffer.required-per-gate.max unset and set (--caps, default
# unset,16). Each trial is a fresh embedded fleet with restarts off. Columns: measured = the
# smallest passing buffer count, formula = Flink 2.3's minimum for the job's graph on the busiest
# TaskManager (NetworkBuffersMain#formula), error = Flink's error one buffer below (first sentence).
#
# Usage: bench/network-buffers.sh [HOSTSxSLOTS ...] [--caps unset,16]   (default 4x2 8x2 4x4 16x1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/warmstage" --version >/dev/null  # builds the jars and the classpath file when stale
echo "$(nproc) cores; $(date -u +%FT%TZ); commit $(git -C "$ROOT" rev-parse --short HEAD)"
exec java -Xmx2g -XX:MaxDirectMemorySize=4g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j.configurationFile="$ROOT/conf/log4j2-cli.properties" \
  -Dwarmstage.log.file="$ROOT/logs/warmstage.log" \
  -cp "$ROOT/operators/target/warmstage-operators-0.1.0-SNAPSHOT.jar:$ROOT/job/target/warmstage-job-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/job/target/classpath.txt")" \
  io.warmstage.job.fleet.NetworkBuffersMain "$@"
