#!/usr/bin/env bash
# Makes sure a JDK (17 or newer) and Maven are installed, and Debian's python3 with numpy and torch
# (for the Python consumer's tests); installs them from Debian's packages when missing and running
# as root. Prints what is missing otherwise (the Python tests then skip what they cannot run).
set -euo pipefail
need=()
if ! command -v java >/dev/null || ! command -v javac >/dev/null; then need+=(openjdk-17-jdk-headless); fi
if ! command -v mvn >/dev/null; then need+=(maven); fi
py=()
if [[ ! -x /usr/bin/python3 ]]; then py+=(python3); fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then py+=(python3-numpy); fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then py+=(python3-torch); fi
if [[ ${#py[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    need+=("${py[@]}")
  else
    echo "Warmstage's Python tests would also use: ${py[*]} (Debian packages); skipping them." >&2
  fi
fi
if [[ ${#need[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing ${need[*]} (apt-get)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
else
  echo "Warmstage needs: ${need[*]} (a JDK 17+ and Maven 3.8+). Install them and run again." >&2
  exit 1
fi
