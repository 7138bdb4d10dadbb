"""A model server's check of the hand-off, as its own process: for each local safetensors file
(or every shard an index.json names) loads the staged copy with ``warmstage.load_file(path,
device)`` and compares every tensor's CRC-32C, computed from the loaded tensor's bytes, with the
CRC-32C of the same bytes in the file. Prints one line per file; exit status 1 if a tensor is
missing or differs, 2 if a file is not staged.

    python3 python/tests/compare_staged.py [--staging-dir DIR] [--device cpu|cuda[:N]] PATH...
"""

import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import warmstage  # noqa: E402
from consume_staged import tensor_bytes  # noqa: E402


def shards(path):
    if not path.endswith(".index.json"):
        return [path]
    with open(path) as f:
        names = sorted(set(json.load(f)["weight_map"].values()))
    return [os.path.join(os.path.dirname(path), n) for n in names]


def reference(path):
    """``{name: crc32c}`` of each tensor's bytes in the file (the safetensors layout)."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        for name, t in header.items():
            if name == "__metadata__":
                continue
            begin, end = t["data_offsets"]
            f.seek(8 + n + begin)
            out[name] = warmstage.crc32c(f.read(end - begin))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--staging-dir")
    p.add_argument("--device", default="cpu")
    p.add_argument("paths", nargs="+")
    a = p.parse_args()
    bad = 0
    for path in [s for p_ in a.paths for s in shards(os.path.abspath(p_))]:
        try:
            tensors = warmstage.load_file(path, device=a.device, staging_dir=a.staging_dir)
        except FileNotFoundError as e:
            print("NOT STAGED %s: %s" % (path, e), flush=True)
            sys.exit(2)
        want = reference(path)
        got = {n: warmstage.crc32c(tensor_bytes(t)) for n, t in tensors.items()}
        devices = sorted({str(getattr(t, "device", "cpu")) for t in tensors.values()})
        wrong = sorted(n for n in want if got.get(n) != want[n]) + sorted(set(got) - set(want))
        bad += len(wrong)
        print(
            "%s %s: %d tensors on %s%s"
            % ("OK  " if not wrong else "FAIL", os.path.basename(path), len(want),
               ",".join(devices), "" if not wrong else "; differ: " + ", ".join(wrong[:5])),
            flush=True,
        )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
