#!/usr/bin/env bash
# CPU seconds per GB and GB/s of Warmstage's ranged reads, read as the source's reader reads (4
# ranged streams of 16 MiB in flight, each through a reused 256 KiB heap array into a reused 4 MiB
# direct buffer), alternating the two arms of each comparison in one run (A B A B ...):
#   http: java.net.http (the former store's path) vs Apache HttpClient 5 classic (HttpObjectStore),
#         from a private nginx on 127.0.0.1 (sendfile on);
#   s3:   the flink-s3-fs-hadoop plugin with Hadoop's S3A stream defaults (input policy normal,
#         read-ahead 64 KiB) vs input policy random with a read-ahead of one split (16 MiB),
#         from S3Proxy (scripts/s3proxy.sh) over the same file.
# Each trial is a fresh JVM; CPU is the JVM's user + sys over the read phase (all its threads).
# Usage: bench/http-clients.sh [--size BYTES] [--runs N] [--only http|s3]
# Needs nginx and curl (apt-get install -y nginx-light curl), Java 17, a built tree (mvn install).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE=2000000000 RUNS=3 ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "unknown argument: $1 (see the usage line in $0)" >&2; exit 2 ;;
  esac
done
WORK="$(mktemp -d /tmp/warmstage-http-clients.XXXXXX)"
chmod 755 "$WORK"   # nginx workers run as another user
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 240); do curl -s -o /dev/null "$1" && return 0; sleep 0.25; done; echo "no answer from $1" >&2; exit 1; }

mvn -B -ntp -o -q -f "$ROOT/pom.xml" -pl operators dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
CP="$ROOT/operators/target/test-classes:$ROOT/operators/target/classes:$(cat "$WORK/cp.txt")"
mkdir -p "$WORK/data/models"
head -c "$SIZE" /dev/urandom >"$WORK/data/models/blob.bin"
cat "$WORK/data/models/blob.bin" >/dev/null   # in the page cache for every trial

trial() {   # ARM CLIENT URI [key=value...]; JVM options in $JOPTS
  local arm="$1" line; shift
  # shellcheck disable=SC2086
  line=$(java ${JOPTS:-} -Xmx1g -XX:MaxDirectMemorySize=256m -cp "$CP" io.warmstage.storage.HttpClientBench \
    "$1" "$2" 4 16 "${@:3}" 2>"$WORK/last.err" | grep '^RESULT') \
    || { echo "trial $arm failed:" >&2; tail -20 "$WORK/last.err" >&2; exit 1; }
  echo "$arm $line" | tee -a "$WORK/results.txt"
}
median() {   # ARM FIELD
  grep "^$1 " "$WORK/results.txt" | sed -E "s/.* $2=([0-9.]+).*/\1/" | sort -g \
    | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
report() {   # ARM...
  local arm
  for arm in "$@"; do
    printf '%-28s median cpu_s_per_gb %s  gb_per_s %s  (runs: %s)\n' "$arm" \
      "$(median "$arm" cpu_s_per_gb)" "$(median "$arm" gb_per_s)" \
      "$(grep "^$arm " "$WORK/results.txt" | sed -E 's/.*cpu_s_per_gb=([0-9.]+).*/\1/' | paste -sd, -)"
  done
}

if [[ "$ONLY" != s3 ]]; then
  PORT=$(free_port)
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $WORK/tmp;
    server { listen 127.0.0.1:$PORT; root $WORK/data; }
}
CONF
  mkdir -p "$WORK/tmp"
  nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$PORT/"
  URL="http://127.0.0.1:$PORT/models/blob.bin"
  echo "# http: $SIZE bytes from nginx $(nginx -v 2>&1 | cut -d/ -f2), $RUNS runs per arm, alternating"
  for i in $(seq 1 "$RUNS"); do
    JOPTS=-Djdk.httpclient.bufsize=16384 trial jdk-16k jdk "$URL"     # the JDK's default
    trial apache apache "$URL"
    JOPTS=-Djdk.httpclient.bufsize=262144 trial jdk-256k jdk "$URL"   # the former store's
    trial apache apache "$URL"
    JOPTS=-Djdk.httpclient.bufsize=1048576 trial jdk-1m jdk "$URL"
    trial apache apache "$URL"
  done
  report jdk-16k jdk-256k jdk-1m apache
fi

if [[ "$ONLY" != http ]]; then
  S3_PORT=$(free_port)
  S3PROXY_ACCESS_KEY=bench-access S3PROXY_SECRET_KEY=bench-secret \
    "$ROOT/scripts/s3proxy.sh" "$S3_PORT" "$WORK/data" >"$WORK/s3proxy.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$S3_PORT/"
  S3=(s3.endpoint=http://127.0.0.1:$S3_PORT s3.path.style.access=true
      s3.access-key=bench-access s3.secret-key=bench-secret
      warmstage.storage.plugins-dir=$ROOT/operators/target/plugins)
  HADOOP_DEFAULTS=(fs.s3a.experimental.input.fadvise=normal fs.s3a.readahead.range=65536)
  RANDOM_SPLIT=(fs.s3a.experimental.input.fadvise=random fs.s3a.readahead.range=16777216)
  echo "# s3: $SIZE bytes from S3Proxy, $RUNS runs per arm, alternating"
  for i in $(seq 1 "$RUNS"); do
    trial s3-hadoop-defaults flink s3://models/blob.bin "${S3[@]}" "${HADOOP_DEFAULTS[@]}"
    trial s3-random-16m flink s3://models/blob.bin "${S3[@]}" "${RANDOM_SPLIT[@]}"
  done
  report s3-hadoop-defaults s3-random-16m
fi
