#!/usr/bin/env bash
# Runs every Warmstage test (unit tests and MiniCluster *ITCase tests) and the format check.
# Test data is read from ../shared/data beside the repository (read-only); outputs go to target/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/prerequisites.sh"
cd "$ROOT"
exec mvn -B -ntp verify "$@"
