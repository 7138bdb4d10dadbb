#!/usr/bin/env bash
# Long fuzz run of the safetensors header parser over mutated real files (not part of CI).
# Usage: bench/fuzz-format.sh [tries=1000000] [seed=random]
# Prints inputs tried, how many parsed / were rejected, and every failure; exits 1 on failure.
# Needs Maven with the dependencies in ~/.m2 (runs offline) and the real files in
# ../shared/data beside the repository, or WARMSTAGE_SHARED_DATA=<folder>.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
tries="${1:-1000000}"
seed="${2:-}"
data="${WARMSTAGE_SHARED_DATA:-$repo/../shared/data}"
if [[ ! -d "$data/real" ]]; then
    echo "fuzz-format: test data not found at $data/real; set WARMSTAGE_SHARED_DATA" >&2
    exit 2
fi
# The operators module builds alone (its parent is read from ../pom.xml): no install needed.
mvn -o -q -B -pl operators test-compile dependency:build-classpath \
    -Dspotless.check.skip=true \
    -Dmdep.outputFile=target/fuzz-classpath.txt -Dmdep.includeScope=test
cd operators
exec java -Xmx1g -Dwarmstage.shared.data="$data" \
    -cp "target/test-classes:target/classes:$(cat target/fuzz-classpath.txt)" \
    io.warmstage.format.FormatFuzzMain "$tries" $seed
