#!/usr/bin/env bash
# Long fuzz run of the safetensors header parser over mutated real files (not part of CI).
# Usage: bench/fuzz-format.sh [tries=1000000] [seed=random]
# Prints inputs tried, how many parsed / were rejected, and every failure; exits 1 on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tries="${1:-1000000}"
seed="${2:-}"
mvn -o -q -pl operators test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/fuzz-classpath.txt -Dmdep.includeScope=test
cd operators
exec java -Xmx1g -cp "target/test-classes:target/classes:$(cat target/fuzz-classpath.txt)" \
    io.warmstage.format.FormatFuzzMain "$tries" $seed
