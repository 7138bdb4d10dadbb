#!/usr/bin/env bash
# S3 staging throughput beside a parallel ranged download of the same objects, and peak RSS of
# staging a multi-GiB model with a 512 MiB heap and a 256 MiB buffer pool.
#
# Usage: bench/s3-memory.sh [SCALE] [RUNS]
#   SCALE  divides Llama-3-8B's first dimensions (default 2: ~8.0 GB in 4 shards)
#   RUNS   alternating runs of each side (default 3); medians are reported
# Needs: ./warmstage built, curl with --aws-sigv4 (7.75+), /usr/bin/time. Listens on 127.0.0.1 only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCALE="${1:-2}"
RUNS="${2:-3}"
WORK="${WORK:-/tmp/warmstage-bench-s3}"
PORT="${PORT:-9321}"
ACCESS=bench-access
SECRET=bench-secret
MODEL="$WORK/data/models/llama3-8b-s$SCALE"
LAYOUT="$ROOT/../shared/data/layouts/meta-llama-3-8b.json"

[[ -f "$MODEL/model.safetensors.index.json" ]] \
  || "$ROOT/warmstage" generate "$MODEL" --layout "$LAYOUT" --scale "$SCALE" >/dev/null
BYTES=$(du -cb "$MODEL"/*.safetensors | tail -1 | cut -f1)

S3PROXY_ACCESS_KEY=$ACCESS S3PROXY_SECRET_KEY=$SECRET \
  "$ROOT/scripts/s3proxy.sh" "$PORT" "$WORK/data" >"$WORK/s3proxy.log" 2>&1 &
PROXY=$!
trap 'kill $PROXY 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.5; done

ranged_download() {   # every shard, 16 MiB ranges, 4 in flight, bodies discarded
  for f in "$MODEL"/*.safetensors; do
    local key size
    key="models/llama3-8b-s$SCALE/$(basename "$f")"
    size=$(stat -c %s "$f")
    for ((off = 0; off < size; off += 16777216)); do
      echo "$off $((off + 16777216 < size ? off + 16777215 : size - 1)) $key"
    done
  done | xargs -P 4 -n 3 sh -c 'curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --user "'$ACCESS:$SECRET'" \
      -r "$0-$1" "http://127.0.0.1:'$PORT'/$2" -o /dev/null'
}

stage() {
  JAVA_OPTS="-Xmx512m -XX:MaxDirectMemorySize=12g" /usr/bin/time -v "$ROOT/warmstage" stage \
    --model "s3://models/llama3-8b-s$SCALE/model.safetensors.index.json" \
    -Ds3.endpoint="http://127.0.0.1:$PORT" -Ds3.path.style.access=true \
    -Ds3.access-key=$ACCESS -Ds3.secret-key=$SECRET \
    -Dwarmstage.source.buffer-pool=256mb >"$WORK/stage.log" 2>"$WORK/stage.time"
  local staging rss
  staging=$(grep -o '[0-9.]* staging' "$WORK/stage.log" | cut -d' ' -f1)
  rss=$(grep 'Maximum resident' "$WORK/stage.time" | grep -o '[0-9]*$')
  echo "$staging $rss"
}

echo "model: Llama-3-8B layout / $SCALE, $BYTES bytes, $(ls "$MODEL"/*.safetensors | wc -l) shards; runs: $RUNS"
declare -a base st rss
for ((i = 0; i < RUNS; i++)); do
  t0=$(date +%s.%N); ranged_download; t1=$(date +%s.%N)
  base+=("$(echo "$t1 - $t0" | bc)")
  read -r s r < <(stage)
  st+=("$s"); rss+=("$r")
  echo "run $((i + 1)): ranged download ${base[-1]} s; stage staging ${s} s, peak RSS ${r} KiB"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${base[@]}"); ms=$(median "${st[@]}"); mr=$(median "${rss[@]}")
printf 'median ranged download: %.2f s = %.3f GB/s\n' "$mb" "$(echo "$BYTES / $mb / 1000000000" | bc -l)"
printf 'median stage (staging time): %.2f s = %.3f GB/s (%.2fx the download)\n' "$ms" \
  "$(echo "$BYTES / $ms / 1000000000" | bc -l)" "$(echo "$mb / $ms" | bc -l)"
printf 'median peak RSS of stage: %d MiB (-Xmx512m, 256 MiB buffer pool, cpu device holds the shards being staged)\n' $((mr / 1024))
