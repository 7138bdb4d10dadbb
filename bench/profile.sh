#!/usr/bin/env bash
# CPU profile of one `./warmstage stage` run with async-profiler, and its top frames.
#
# Usage: bench/profile.sh --model URI [--model URI ...] [--out DIR] [--top N] [-- STAGE ARGS...]
#   --model URI  what to stage, as for `./warmstage stage --model` (repeatable; at least one).
#   --out DIR    where the files go (default target/bench/profile): stage.collapsed (every sampled
#                stack, async-profiler's collapsed form, for flame graph tools), stage.log (the
#                stage's own output) and top.md (what this script prints).
#   --top N      frames in each table (default 15).
#   -- ARGS      passed to `./warmstage stage` unchanged (--device cpu unless ARGS give --device).
# Prints Markdown: the command, the stage's summary times, the top N frames by self samples and by
# inclusive samples (bench/lib/collapsed.py). The whole JVM is profiled, from start-up to exit
# (event itimer: CPU time of every thread, kernel time on its behalf included; no perf_events
# needed), so start-up shows too; the summary's staging and whole-command times tell the shares.
# Environment: ASYNC_PROFILER_VERSION (tools.profiler:async-profiler on Maven Central, default
#   2.9; its jar holds libasyncProfiler.so for linux-x64 and linux-arm64; fetched once with mvn
#   into the local Maven repository), PROFILE_INTERVAL (sampling interval, default 10ms),
#   BENCH_JAVA_OPTS (JVM options for stage; default: the launcher's own default), to which the
#   agent is added.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${ASYNC_PROFILER_VERSION:-2.9}"
INTERVAL="${PROFILE_INTERVAL:-10ms}"
OUT="$ROOT/target/bench/profile"
TOP=15
MODELS=()
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model|--out|--top)
      [[ $# -ge 2 ]] || { echo "bench/profile.sh: $1 needs a value (see --help)" >&2; exit 2; }
      case "$1" in --model) MODELS+=("$2") ;; --out) OUT="$2" ;; --top) TOP="$2" ;; esac
      shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0 ;;
    *) echo "bench/profile.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#MODELS[@]} -gt 0 ]] || { echo "bench/profile.sh: give --model URI (see --help)" >&2; exit 2; }
[[ "$TOP" =~ ^[1-9][0-9]*$ ]] || { echo "bench/profile.sh: --top needs a whole number of at least 1, got '$TOP'" >&2; exit 2; }

log() { printf '[profile %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case "$(uname -m)" in
  x86_64|amd64) PLATFORM=linux-x64 ;;
  aarch64|arm64) PLATFORM=linux-arm64 ;;
  *) echo "bench/profile.sh: no async-profiler library for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac

# The agent library, from the jar in the local Maven repository (fetched there once).
LIB="$ROOT/target/bench/async-profiler-$VERSION/$PLATFORM/libasyncProfiler.so"
if [[ ! -f "$LIB" ]]; then
  REPO="${MAVEN_REPO:-$HOME/.m2/repository}"
  JAR="$REPO/tools/profiler/async-profiler/$VERSION/async-profiler-$VERSION.jar"
  if [[ ! -f "$JAR" ]]; then
    log "fetching tools.profiler:async-profiler:$VERSION from Maven Central (mvn)"
    mvn -q -B -ntp -Dmaven.repo.local="$REPO" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get \
      -Dartifact="tools.profiler:async-profiler:$VERSION" -Dtransitive=false >&2
  fi
  [[ -f "$JAR" ]] || { echo "bench/profile.sh: $JAR not found after mvn" >&2; exit 1; }
  mkdir -p "$(dirname "$LIB")"
  python3 - "$JAR" "$PLATFORM/libasyncProfiler.so" "$LIB" <<'PY'
import sys, zipfile
jar, entry, dest = sys.argv[1:]
with zipfile.ZipFile(jar) as z:
    if entry not in z.namelist():
        raise SystemExit(f"{jar}: no {entry} inside")
    with z.open(entry) as src, open(dest + ".tmp", "wb") as dst:
        dst.write(src.read())
PY
  mv "$LIB.tmp" "$LIB"
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT/stage.collapsed" "$OUT/top.md"
ARGS=()
[[ " ${EXTRA[*]} " == *" --device"* ]] || ARGS=(--device cpu)
for m in "${MODELS[@]}"; do ARGS+=(--model "$m"); done
ARGS+=("${EXTRA[@]}")
# The agent goes in through JAVA_TOOL_OPTIONS, so the launcher keeps its own default options (and
# its class-data-sharing archive) unless BENCH_JAVA_OPTS replaces them as JAVA_OPTS.
AGENT="-agentpath:$LIB=start,event=itimer,interval=$INTERVAL,file=$OUT/stage.collapsed,collapsed"
log "./warmstage stage ${ARGS[*]}  (async-profiler $VERSION, event itimer, interval $INTERVAL)"
if [[ -n "${BENCH_JAVA_OPTS:-}" ]]; then export JAVA_OPTS="$BENCH_JAVA_OPTS"; else unset JAVA_OPTS; fi
if ! JAVA_TOOL_OPTIONS="$AGENT" "$ROOT/warmstage" stage "${ARGS[@]}" >"$OUT/stage.log" 2>&1; then
  tail -30 "$OUT/stage.log" >&2
  echo "bench/profile.sh: stage failed (log: $OUT/stage.log)" >&2
  exit 1
fi
[[ -s "$OUT/stage.collapsed" ]] || { echo "bench/profile.sh: the agent wrote no $OUT/stage.collapsed" >&2; exit 1; }

{
  echo "\`${BENCH_JAVA_OPTS:+JAVA_OPTS=\"$BENCH_JAVA_OPTS\" }JAVA_TOOL_OPTIONS=\"-agentpath:libasyncProfiler.so=start,event=itimer,interval=$INTERVAL,file=stage.collapsed,collapsed\" ./warmstage stage ${ARGS[*]}\`"
  echo "(async-profiler $VERSION; every sampled stack: $OUT/stage.collapsed)."
  echo
  summary=$(grep -E '^ *(files|bytes|seconds|GB/s|cache) ' "$OUT/stage.log" | sed 's/^ */  /' || true)
  if [[ -n "$summary" ]]; then
    echo "Stage summary of the profiled run:"
    echo
    echo '```'
    echo "$summary"
    echo '```'
    echo
  fi
  python3 "$ROOT/bench/lib/collapsed.py" "$OUT/stage.collapsed" --top "$TOP"
} >"$OUT/top.md"
cat "$OUT/top.md"
