#!/usr/bin/env bash
# Makes sure a JDK (17 or newer) and Maven are installed; installs them from Debian's packages
# when missing and running as root. Prints what is missing otherwise.
set -euo pipefail
need=()
if ! command -v java >/dev/null || ! command -v javac >/dev/null; then need+=(openjdk-17-jdk-headless); fi
if ! command -v mvn >/dev/null; then need+=(maven); fi
if [[ ${#need[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing ${need[*]} (apt-get)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
else
  echo "Warmstage needs: ${need[*]} (a JDK 17+ and Maven 3.8+). Install them and run again." >&2
  exit 1
fi
