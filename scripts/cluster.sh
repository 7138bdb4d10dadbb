#!/usr/bin/env bash
# A standalone Flink session cluster from the project's own Flink jars: one JobManager and N
# TaskManager processes (Flink's JVM options, memory sizes from Flink's BashJavaUtils), all files
# under DIR (conf/config.yaml, log/, checkpoints/, rest, pids, network). By default every process
# binds 127.0.0.1 (one host). With --netns (root and `ip netns` needed; otherwise it says so and
# falls back to 127.0.0.1) each of --hosts H hosts is a network namespace with its own address on a
# private bridge (10.77.N.10+i; the JobManager and origins use the bridge's 10.77.N.1) and its own
# local directory DIR/hosts/h<i>, mounted at DIR/host-local for its TaskManagers.
#
#   scripts/cluster.sh start  [--dir DIR] [--task-managers N] [--slots M] [--rest-port P]
#                             [--netns] [--hosts H]          (N TaskManagers on each host)
#   scripts/cluster.sh submit [--dir DIR] [-p PARALLELISM] -- JOB_ARGS...   (uploads the job jar)
#   scripts/cluster.sh stop   [--dir DIR]                    (also deletes the namespaces)
#
# Defaults: DIR target/cluster, 1 host, 2 TaskManagers x 2 slots, REST port 8081 (0: any free
# port, see DIR/rest), parallelism 4.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/job/target/warmstage-job-0.1.0-SNAPSHOT.jar"
cmd="${1:-}"; shift || true
dir="$ROOT/target/cluster"; tms=2; slots=2; port=8081; p=4; hosts=1; netns=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --task-managers) tms="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --rest-port) port="$2"; shift 2 ;;
    --hosts) hosts="$2"; shift 2 ;;
    --netns) netns=true; shift ;;
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
  start) run start "$dir" "$tms" "$slots" "$port" "$hosts" "$netns" ;;
  submit) run submit "$dir" "$JAR" "$p" "$@" ;;
  stop) run stop "$dir" ;;
  *) echo "usage: scripts/cluster.sh start|submit|stop [options] (see the header of this script)" >&2; exit 2 ;;
esac
