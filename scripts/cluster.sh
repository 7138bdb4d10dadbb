#!/usr/bin/env bash
# A standalone Flink session cluster on 127.0.0.1 from the project's own Flink jars: one JobManager
# and N TaskManager processes (Flink's JVM options, memory sizes from Flink's BashJavaUtils), all
# files under DIR (conf/config.yaml, log/, checkpoints/, pids).
#
#   scripts/cluster.sh start  [--dir DIR] [--task-managers N] [--slots M] [--rest-port P]
#   scripts/cluster.sh submit [--dir DIR] [-p PARALLELISM] -- JOB_ARGS...   (uploads the job jar)
#   scripts/cluster.sh stop   [--dir DIR]
#
# Defaults: DIR target/cluster, 2 TaskManagers x 2 slots, REST port 8081, parallelism 4.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/job/target/warmstage-job-0.1.0-SNAPSHOT.jar"
cmd="${1:-}"; shift || true
dir="$ROOT/target/cluster"; tms=2; slots=2; port=8081; p=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --task-managers) tms="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --rest-port) port="$2"; shift 2 ;;
    -p) p="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ ! -f "$JAR" || ! -d "$ROOT/job/target/test-classes/io/warmstage/job/cluster" ]]; then
  echo "Building Warmstage (mvn -DskipTests install)..." >&2
  mvn -q -B -ntp -f "$ROOT/pom.xml" -DskipTests -Dspotless.check.skip=true install >&2
fi
CP="$ROOT/job/target/test-classes:$(cat "$ROOT/job/target/classpath.txt")"
run() { java -Dwarmstage.repo="$ROOT" -Dlog4j2.level=WARN -cp "$CP" io.warmstage.job.cluster.ClusterScript "$@"; }
case "$cmd" in
  start) run start "$dir" "$tms" "$slots" "$port" ;;
  submit) run submit "$dir" "$JAR" "$p" "$@" ;;
  stop) run stop "$dir" ;;
  *) echo "usage: scripts/cluster.sh start|submit|stop [options] (see the header of this script)" >&2; exit 2 ;;
esac
