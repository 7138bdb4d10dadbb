"""``python3 -m warmstage list [--staging-dir DIR] [--json]``: the host's staged set."""

import argparse
import json
import sys

from . import _registry


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m warmstage", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="print the files staged on this host")
    ls.add_argument("--staging-dir", help="the staging job's warmstage.staging.dir")
    ls.add_argument("--json", action="store_true", help="one JSON entry per line")
    args = p.parse_args(argv)
    found = _registry.entries(args.staging_dir)
    if args.json:
        for e in found:
            e = dict(e)
            e["status"] = _registry.status(e)
            e.pop("_entry", None)
            print(json.dumps(e, sort_keys=True))
        return 0
    where = _registry.registry_dir(_registry.staging_dir(args.staging_dir))
    if not found:
        print("nothing staged in %s" % where)
        return 0
    print("%d file(s) staged in %s" % (len(found), where))
    fmt = "%-12s %-8s %8s %12s  %-12s %s"
    print(fmt % ("MODEL", "DEVICE", "TENSORS", "BYTES", "STATUS", "URI"))
    for e in found:
        print(
            fmt
            % (
                e.get("model"),
                e.get("device"),
                len(e["tensors"]),
                e.get("size"),
                _registry.status(e),
                e["uri"],
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
