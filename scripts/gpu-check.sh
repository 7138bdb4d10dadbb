#!/usr/bin/env bash
# The GPU check (docs/GPU.md): stages a generated ~4 GiB BF16 model into a GPU through
# Warmstage.loadFile and the staging operator's record path, compares every tensor's CRC-32C read
# back from device memory with the file's, and times the H2D copies beside a plain pinned
# cuMemcpyHtoD. Needs only gpu-bundle/ (scripts/build-gpu-bundle.sh) and bash: no JDK, no
# network. Exit status: 0 pass, 1 a checksum differs, 2 no GPU / bad argument, 3 other failure.
# Then, where python3 has torch with CUDA, the hand-off's consumer step: a second process opens a
# CUDA IPC handle another process exported, through warmstage.load_file(device="cuda"), and
# compares every tensor's CRC-32C (python/tests/test_cuda_ipc.py; also the copy of a staged
# host file to the GPU); then `warmstage stage --device cuda --keep-staged` stages a generated
# model and a separate python3 process loads every shard from the staged set's IPC handles and
# compares every tensor's CRC-32C with the file's (stage_and_consume below; needs a built
# checkout). Skipped, with a line saying so, where torch sees no GPU.
#
#   scripts/gpu-check.sh                      # cuda, 4096 MiB model in $TMPDIR or /tmp
#   scripts/gpu-check.sh --device cuda:1 --size-mib 8192 --dir /scratch
#   scripts/gpu-check.sh --dry-run            # everything but CUDA, cpu device, 64 MiB model
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/gpu-bundle"
if [[ ! -x "$BUNDLE/java/bin/java" || ! -d "$BUNDLE/lib" ]]; then
  echo "gpu-check: $BUNDLE is missing or incomplete: run scripts/build-gpu-bundle.sh first" >&2
  exit 2
fi
# Heap: a few 16 MiB read buffers. Direct memory: the cpu device's buffers in a dry run.
read -r -a OPTS <<<"${GPU_CHECK_JAVA_OPTS:--Xmx2g -XX:MaxDirectMemorySize=8g}"
"$BUNDLE/java/bin/java" "${OPTS[@]}" -cp "$BUNDLE/lib/*" \
  io.warmstage.job.gpucheck.GpuCheck "$@"
rc=$?
[[ $rc -eq 0 ]] || exit $rc
for a in "$@"; do [[ $a == --dry-run ]] && exit 0; done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

# The staging job's side of the hand-off on a GPU: `./warmstage stage --device cuda --keep-staged`
# stages the demo model (generated into a temp dir) and stays up (--keep-ui) holding the device
# allocations; once every shard is listed in the staged set, a separate python3 process opens them
# from their CUDA IPC handles (warmstage.load_file(path, device=...)) and compares every tensor's
# CRC-32C with the file's (python/tests/compare_staged.py). Needs a built checkout (the launcher,
# a JDK and Maven's repository); skipped with a line saying so where there is none.
stage_and_consume() {
  local device=cuda a prev=""
  for a in "$@"; do [[ $prev == --device ]] && device=$a; prev=$a; done
  if [[ ! -f "$ROOT/job/target/warmstage-job-0.1.0-SNAPSHOT.jar" || ! -f "$ROOT/job/target/classpath.txt" ]] ||
      ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    echo "staged-set consumer: skipped (needs a built checkout: ./warmstage, a JDK and Maven)"
    return 0
  fi
  local work rc=0 stager want listed deadline
  work="$(mktemp -d "${TMPDIR:-/tmp}/warmstage-handoff.XXXXXX")"
  echo "== staged-set consumer: stage --device $device --keep-staged, then load_file(device=\"$device\") =="
  "$ROOT/warmstage" generate "$work/model" >"$work/generate.out" ||
    { echo "== FAIL (generate) =="; rm -rf "$work"; return 3; }
  local index
  index="$(tail -n 1 "$work/generate.out")"
  want="$("$PY" -c 'import json,sys; print(len(set(json.load(open(sys.argv[1]))["weight_map"].values())))' "$index")"
  # Its own process group (setsid): the launcher runs java as a child, and both must go.
  setsid "$ROOT/warmstage" stage --model "file://$index" --device "$device" --keep-staged --keep-ui 600 \
    -Dwarmstage.staging.dir="$work/staging" >"$work/stage.log" 2>&1 &
  stager=$!
  deadline=$((SECONDS + 600))
  while :; do
    listed="$(compgen -G "$work/staging/registry/*.json" | wc -l)"
    [[ $listed -ge $want ]] && break
    # The run has ended (its summary printed, the Web UI kept up) without listing every shard.
    if ! kill -0 "$stager" 2>/dev/null || grep -q '^Web UI stays up' "$work/stage.log" ||
        [[ $SECONDS -ge $deadline ]]; then
      echo "== FAIL (stage: $listed of $want shards listed; its log follows) =="
      tail -n 40 "$work/stage.log"
      kill -- -"$stager" 2>/dev/null; wait "$stager" 2>/dev/null
      rm -rf "$work"
      return 3
    fi
    sleep 1
  done
  "$PY" "$ROOT/python/tests/compare_staged.py" --staging-dir "$work/staging" --device "$device" \
    "$index" || rc=$?
  kill -- -"$stager" 2>/dev/null
  wait "$stager" 2>/dev/null
  rm -rf "$work"
  if [[ $rc -ne 0 ]]; then
    echo "== FAIL (staged-set consumer: exit $rc) =="
    return 1
  fi
}
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "hand-off consumer : skipped (python3 has no torch with a GPU)"
  exit 0
fi
echo "== hand-off consumer: CUDA IPC handles opened by a second process =="
if ! (cd "$ROOT/python" && "$PY" -m unittest -v tests.test_cuda_ipc \
      tests.test_load_file.LoadFileTest.test_cuda_copies_a_host_staged_file_to_the_gpu); then
  echo "== FAIL (hand-off consumer) =="
  exit 1
fi
stage_and_consume "$@" || exit $?
echo "== PASS =="
