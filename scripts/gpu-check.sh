#!/usr/bin/env bash
# The GPU check (docs/GPU.md): stages a generated ~4 GiB BF16 model into a GPU through
# Warmstage.loadFile and the staging operator's record path, compares every tensor's CRC-32C read
# back from device memory with the file's, and times the H2D copies beside a plain pinned
# cuMemcpyHtoD. Needs only gpu-bundle/ (scripts/build-gpu-bundle.sh) and bash: no JDK, no
# network. Exit status: 0 pass, 1 a checksum differs, 2 no GPU / bad argument, 3 other failure.
# Then, where python3 has torch with CUDA, the hand-off's consumer step: a second process opens a
# CUDA IPC handle another process exported, through warmstage.load_file(device="cuda"), and
# compares every tensor's CRC-32C (python/tests/test_cuda_ipc.py; also the copy of a staged
# host file to the GPU). Skipped, with a line saying so, where torch sees no GPU.
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
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "hand-off consumer : skipped (python3 has no torch with a GPU)"
  exit 0
fi
echo "== hand-off consumer: CUDA IPC handles opened by a second process =="
if (cd "$ROOT/python" && "$PY" -m unittest -v tests.test_cuda_ipc \
      tests.test_load_file.LoadFileTest.test_cuda_copies_a_host_staged_file_to_the_gpu); then
  echo "== PASS =="
else
  echo "== FAIL (hand-off consumer) =="
  exit 1
fi
