#!/usr/bin/env bash
# Starts S3Proxy (a real S3-compatible server, from Maven Central) on 127.0.0.1 in the foreground
# for trying s3:// by hand; the tests start their own. Buckets are directories under DATA_DIR.
# Usage: scripts/s3proxy.sh [PORT] [DATA_DIR]   (defaults: 9000, target/s3proxy-data)
# Prints the Flink s3.* settings that match. Stop it with Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${1:-9000}"
DATA="$(mkdir -p "${2:-$ROOT/target/s3proxy-data}" && cd "${2:-$ROOT/target/s3proxy-data}" && pwd)"
JAR="$ROOT/operators/target/s3proxy/s3proxy.jar"
if [[ ! -f "$JAR" ]]; then
  mvn -q -B -ntp -f "$ROOT/pom.xml" -pl operators process-test-resources >&2
fi
ACCESS="${S3PROXY_ACCESS_KEY:-local-access}"
SECRET="${S3PROXY_SECRET_KEY:-local-secret}"
cat >&2 <<INFO
S3Proxy on http://127.0.0.1:$PORT, buckets = directories of $DATA
Flink settings: -Ds3.endpoint=http://127.0.0.1:$PORT -Ds3.path.style.access=true -Ds3.access-key=$ACCESS -Ds3.secret-key=<S3PROXY_SECRET_KEY>
INFO
exec java -Xmx256m \
  -Ds3proxy.endpoint="http://127.0.0.1:$PORT" -Ds3proxy.authorization=aws-v2-or-v4 \
  -Ds3proxy.identity="$ACCESS" -Ds3proxy.credential="$SECRET" \
  -Djclouds.provider=filesystem -Djclouds.identity=unused -Djclouds.credential=unused \
  -Djclouds.filesystem.basedir="$DATA" \
  -jar "$JAR" --properties /dev/null
