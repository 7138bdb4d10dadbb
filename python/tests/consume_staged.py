"""A model server's side of the hand-off, as a separate process: loads staged files with
``warmstage.load_file`` and prints, per file, one JSON line with the framework used and each
tensor's CRC-32C computed from the loaded tensor's own bytes.

    python3 python/tests/consume_staged.py [--staging-dir DIR] [--device cpu|cuda] URI...
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import warmstage  # noqa: E402


def tensor_bytes(t):
    if hasattr(t, "device") and hasattr(t, "data_ptr"):  # torch
        import torch

        return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    if hasattr(t, "tobytes"):  # numpy
        return t.tobytes()
    return bytes(t)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--staging-dir")
    p.add_argument("--device", default="cpu")
    p.add_argument("--framework")
    p.add_argument("uris", nargs="+")
    a = p.parse_args()
    for uri in a.uris:
        tensors = warmstage.load_file(
            uri, device=a.device, staging_dir=a.staging_dir, framework=a.framework
        )
        kinds = {type(t).__module__.split(".")[0] for t in tensors.values()}
        crcs = {n: "%08x" % warmstage.crc32c(tensor_bytes(t)) for n, t in tensors.items()}
        print(json.dumps({"uri": uri, "kinds": sorted(kinds), "tensors": crcs}), flush=True)


if __name__ == "__main__":
    main()
