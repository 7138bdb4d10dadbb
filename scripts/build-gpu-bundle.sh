#!/usr/bin/env bash
# Builds gpu-bundle/: a jlink'd Java runtime and the few jars the GPU check needs, so that
# scripts/gpu-check.sh runs on a GPU machine with no JDK and no network. Run it here (a JDK 17
# and Maven with the project's dependencies in ~/.m2); copy the working tree with gpu-bundle/ in
# it to the GPU machine. Fails if the bundle is larger than 60 MiB (the copy is limited to 64).
#
#   scripts/build-gpu-bundle.sh            # offline build (mvn -o)
#   MVN_ONLINE=1 scripts/build-gpu-bundle.sh   # let Maven fetch what ~/.m2 lacks (jcuda-natives)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
LIMIT_MIB=60
OUT="$ROOT/gpu-bundle"
MVN=(mvn -B -q)
[[ "${MVN_ONLINE:-0}" == 1 ]] || MVN+=(-o)

"$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "17' ||
  { echo "build-gpu-bundle: needs JDK 17 at JAVA_HOME=$JAVA_HOME" >&2; exit 1; }

echo "== building the project" >&2
"${MVN[@]}" install -DskipTests -Dspotless.check.skip=true

rm -rf "$OUT"
mkdir -p "$OUT/lib"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The operators module's compile classpath (compile + provided), filtered to what GpuCheck loads:
# jackson (header JSON, ModelWriter), JCuda's Java classes, and the four small Flink jars that
# Warmstage.loadFile's Configuration and ConfigOptions need (flink-core: Configuration,
# ConfigOptions; flink-core-api: MemorySize; flink-annotations; slf4j-api for their loggers).
"${MVN[@]}" dependency:build-classpath -pl operators -Dmdep.includeScope=compile \
  -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
KEEP='/(jackson-(core|databind|annotations)|jcuda|flink-core|flink-core-api|flink-annotations|slf4j-api)-[0-9][^/]*\.jar$'
tr ':' '\n' <"$WORK/cp.txt" | grep -E "$KEEP" | grep -v -- '-tests\.jar$' | while read -r jar; do
  cp "$jar" "$OUT/lib/"
done
JCUDA_VERSION="$(ls "$OUT/lib" | sed -n 's/^jcuda-\([0-9.]*\)\.jar$/\1/p')"
SLF4J_VERSION="$(ls "$OUT/lib" | sed -n 's/^slf4j-api-\([0-9.]*\)\.jar$/\1/p')"
[[ -n "$JCUDA_VERSION" && -n "$SLF4J_VERSION" ]] ||
  { echo "build-gpu-bundle: jcuda or slf4j-api missing from the classpath" >&2; exit 1; }

# JCuda's natives for linux-x86_64 (excluded from the pom: CI has no GPU). Of the jar's four
# libraries the driver API loads only libJCudaDriver (JCudaDriver's static initializer, no
# dependents; it needs libcuda.so.1 and libstdc++.so.6 on the GPU host), so the bundle carries a
# jar of that one library: 1 MiB instead of 9 (the 23 MiB PTX compiler library goes).
"${MVN[@]}" dependency:copy -Dartifact="org.jcuda:jcuda-natives:$JCUDA_VERSION:jar:linux-x86_64" \
  -DoutputDirectory="$WORK"
# The dry run below never loads the natives: check their shared-library dependencies here, so a
# missing one fails the build instead of the first run on the GPU host.
echo "== shared-library dependencies of the JCuda natives" >&2
"$ROOT/scripts/check-natives.sh" "$WORK/jcuda-natives-$JCUDA_VERSION-linux-x86_64.jar" \
  libJCudaDriver libJCudaRuntime >&2 ||
  { echo "build-gpu-bundle: the JCuda natives need libraries a GPU host may lack (above)" >&2; exit 1; }
mkdir -p "$WORK/natives"
(cd "$WORK/natives" && "$JAVA_HOME/bin/jar" xf "$WORK/jcuda-natives-$JCUDA_VERSION-linux-x86_64.jar" \
  "lib/libJCudaDriver-$JCUDA_VERSION-linux-x86_64.so")
[[ -f "$WORK/natives/lib/libJCudaDriver-$JCUDA_VERSION-linux-x86_64.so" ]] ||
  { echo "build-gpu-bundle: libJCudaDriver missing from jcuda-natives" >&2; exit 1; }
"$JAVA_HOME/bin/jar" cf "$OUT/lib/jcuda-natives-$JCUDA_VERSION-linux-x86_64-driver.jar" \
  -C "$WORK/natives" lib
# slf4j-nop keeps the Flink classes' loggers quiet.
"${MVN[@]}" dependency:copy -Dartifact="org.slf4j:slf4j-nop:$SLF4J_VERSION" -DoutputDirectory="$OUT/lib"

# The operators jar and a small jar of the check's classes (GpuCheck + ModelWriter from job/).
cp operators/target/warmstage-operators-*-SNAPSHOT.jar "$OUT/lib/"
rm -f "$OUT"/lib/*-tests.jar
(cd job/target/classes &&
  "$JAVA_HOME/bin/jar" cf "$OUT/lib/warmstage-gpucheck.jar" io/warmstage/job/gpucheck \
    io/warmstage/job/demo/ModelWriter*.class)

# Modules: what jdeps finds in our jars and JCuda's, plus java.logging (JCuda's LibUtils logs
# through java.util.logging). Left out on purpose: java.desktop and java.sql (Jackson treats
# java.beans and java.sql types as optional) and java.management.rmi (flink-core code paths the
# check does not run). The dry run below proves the set on the loadFile and staging paths.
OWN="$OUT/lib/warmstage-gpucheck.jar $(ls "$OUT"/lib/warmstage-operators-*.jar) $OUT/lib/jcuda-$JCUDA_VERSION.jar"
CP="$(ls "$OUT"/lib/*.jar | grep -v jcuda-natives | paste -sd: -)"
MODULES="$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --no-recursive --multi-release 17 \
  -cp "$CP" $OWN 2>/dev/null | tail -1),java.logging"
MODULES="$(echo "$MODULES" | tr ',' '\n' | sort -u | paste -sd, -)"
echo "== jlink --add-modules $MODULES" >&2
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --output "$OUT/java"

echo "== self-test: dry run with the bundled runtime" >&2
"$OUT/java/bin/java" -cp "$OUT/lib/*" io.warmstage.job.gpucheck.GpuCheck --dry-run --size-mib 16 \
  --dir "$WORK/check" >"$WORK/dry-run.txt" 2>&1 ||
  { cat "$WORK/dry-run.txt" >&2; echo "build-gpu-bundle: the dry run failed" >&2; exit 1; }
grep -q '^== PASS ==$' "$WORK/dry-run.txt" ||
  { cat "$WORK/dry-run.txt" >&2; echo "build-gpu-bundle: the dry run did not pass" >&2; exit 1; }

{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "runtime: jlink of $("$JAVA_HOME/bin/java" -version 2>&1 | head -1) with $MODULES"
  echo "jars:"; (cd "$OUT/lib" && ls -1)
} >"$OUT/BUNDLE.txt"

KIB="$(du -sk "$OUT" | cut -f1)"
printf 'gpu-bundle: %d KiB (%.1f MiB): java/ %s, lib/ %s\n' "$KIB" "$(echo "$KIB/1024" | bc -l)" \
  "$(du -sh "$OUT/java" | cut -f1)" "$(du -sh "$OUT/lib" | cut -f1)"
if ((KIB > LIMIT_MIB * 1024)); then
  echo "build-gpu-bundle: bundle is over $LIMIT_MIB MiB" >&2
  exit 1
fi
