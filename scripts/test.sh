#!/usr/bin/env bash
# Runs every Warmstage test (the Python consumer's unittest suite, unit tests and MiniCluster
# *ITCase tests) and the format check.
# Test data is read from ../shared/data beside the repository (read-only); outputs go to target/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/prerequisites.sh"
cd "$ROOT"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
(cd python && "$PY" -m unittest discover -s tests -t .)
exec mvn -B -ntp verify "$@"
