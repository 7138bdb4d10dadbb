#!/usr/bin/env bash
# Checks the shared-library dependencies of native libraries inside a JCuda natives jar, on the
# build machine, so that a missing dependency shows here and not first on the GPU host.
#
#   scripts/check-natives.sh NATIVES_JAR LIBRARY...     e.g. ... jcuda-natives-12.0.0-linux-x86_64.jar \
#                                                             libJCudaDriver libJCudaRuntime
#
# For each lib/LIBRARY-*.so in the jar: lists its NEEDED entries (readelf -d) and fails if one is
# not a library every GPU host has (the driver's libcuda, glibc's libc/libm/libdl/libpthread/librt/
# ld-linux, libstdc++, libgcc_s), or if ldd cannot resolve one other than libcuda (which only a
# host with the NVIDIA driver has). Prints the newest GLIBC symbol version each library needs.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: check-natives.sh NATIVES_JAR LIBRARY..." >&2; exit 2; }
JAR="$1"; shift
[[ -f "$JAR" ]] || { echo "check-natives: no such jar: $JAR" >&2; exit 2; }
for tool in readelf ldd unzip; do
  command -v "$tool" >/dev/null || { echo "check-natives: needs $tool (binutils, libc-bin, unzip)" >&2; exit 2; }
done
ALLOWED='^(libcuda\.so\.1|libc\.so\.6|libstdc\+\+\.so\.6|libm\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1)$'
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
unzip -q -o "$JAR" 'lib/*' -d "$WORK" 2>/dev/null || true
failed=0
for name in "$@"; do
  lib="$(ls "$WORK"/lib/"$name"-*.so 2>/dev/null | head -1 || true)"
  if [[ -z "$lib" ]]; then
    echo "check-natives: $name: not in $JAR" >&2; failed=1; continue
  fi
  base="$(basename "$lib")"
  needed="$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
  glibc="$(readelf -V "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)"
  echo "$base: needs $(echo $needed | tr ' ' ',') (newest symbol version ${glibc:-none})"
  while read -r dep; do
    [[ -z "$dep" ]] && continue
    if ! [[ "$dep" =~ $ALLOWED ]]; then
      echo "check-natives: $base needs $dep, which a GPU host is not known to have" >&2; failed=1
    fi
  done <<<"$needed"
  while read -r missing; do
    [[ -z "$missing" || "$missing" == libcuda.so.1 ]] && continue
    echo "check-natives: $base needs $missing, which is missing here (ldd: not found)" >&2; failed=1
  done < <(ldd "$lib" 2>/dev/null | awk '/not found/ {print $1}')
done
exit "$failed"
