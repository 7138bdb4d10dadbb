#!/usr/bin/env python3
"""Stages every real safetensors file in ../shared/data/real with ./warmstage and checks the
result with an independent reader (this script: stdlib JSON + its own CRC-32C table):

  * every tensor's crc32c in the report equals the CRC-32C of the origin's bytes;
  * every cache file (found through its entry.json sidecar) is byte-identical to its origin.

Usage: bench/verify-real.py [DATA_DIR]   (default: ../shared/data/real beside the repository)
Exit status 0 when everything matches.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def tensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = "%08x" % crc32c(raw[8 + n + b : 8 + n + e])
    return out


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data", "real")
    data = os.path.abspath(data)
    files = []
    for d, _, names in os.walk(data):
        if os.path.basename(d) == "malformed":
            continue
        files += [os.path.join(d, n) for n in names if n.endswith(".safetensors")]
    files.sort()
    work = tempfile.mkdtemp(prefix="warmstage-verify-")
    report = os.path.join(work, "report.jsonl")
    cache = os.path.join(work, "cache")
    cmd = [os.path.join(ROOT, "warmstage"), "stage", "--cache-dir", cache, "--report", report]
    for f in files:
        cmd += ["--model", f]
    rc = subprocess.call(cmd)
    events = [json.loads(line) for line in open(report)]
    got = {}
    for e in events:
        if e["event"] == "tensor":
            got.setdefault(e["file"], {})[e["tensor"]] = e["crc32c"]
    bad = 0
    checked = 0
    for f in files:
        uri = "file://" + urllib.parse.quote(f)
        want = tensors(f)
        have = got.get(uri, {})
        checked += len(want)
        if have != want:
            bad += 1
            print("MISMATCH", f, {k: (want.get(k), have.get(k)) for k in set(want) | set(have) if want.get(k) != have.get(k)})
    cached = 0
    for name in os.listdir(cache):
        if not name.endswith(".entry.json"):
            continue
        entry = json.load(open(os.path.join(cache, name)))
        origin = urllib.parse.unquote(urllib.parse.urlparse(entry["uri"]).path)
        body = open(os.path.join(cache, name[: -len(".entry.json")] + ".safetensors"), "rb").read()
        if body != open(origin, "rb").read():
            bad += 1
            print("CACHE MISMATCH", origin)
        cached += 1
    print("files %d, tensors %d checked, cache entries %d identical, mismatches %d, stage exit %d"
          % (len(files), checked, cached, bad, rc))
    return 0 if bad == 0 and rc == 0 and cached == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
