"""Reads a cuda entry of the staged set as a consumer on a GPU host would, without a GPU: finds
the entry of each URI for ``cuda``, checks its IPC handle, and prints one JSON line per file with
the handle and every tensor's pointer and size for an allocation opened at ``--base`` (what
``load_file(uri, device="cuda")`` builds its tensors over). Nothing is opened.

    python3 python/tests/cuda_entry.py --staging-dir DIR --base N URI...
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from warmstage import _cuda, _registry  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--staging-dir", required=True)
    p.add_argument("--base", type=int, required=True)
    p.add_argument("uris", nargs="+")
    a = p.parse_args()
    for uri in a.uris:
        entry = _registry.find(uri, "cuda", a.staging_dir)
        if entry is None or not entry.get("gpu"):
            print("no cuda entry of %s in %s" % (uri, a.staging_dir), file=sys.stderr)
            sys.exit(1)
        pointers = _cuda.tensor_pointers(entry, a.base)
        print(
            json.dumps(
                {
                    "uri": entry["uri"],
                    "ordinal": entry["gpu"]["ordinal"],
                    "ipc_handle": _cuda.handle_bytes(entry).hex(),
                    "pointers": {n: [ptr, size] for n, (ptr, size) in pointers.items()},
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
