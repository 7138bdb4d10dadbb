#!/usr/bin/env python3
"""The "load" half of download-then-load: reads each file whole into memory.

For each file in turn: one bytearray of the file's size (allocated, so its pages are touched), the
file read into it with unbuffered readinto() calls, the buffer dropped before the next file. That
is what a loader that reads a downloaded safetensors shard into host memory does at least; nothing
is parsed or copied further. Prints the bytes read.
"""
import os
import sys


def load(path):
    size = os.path.getsize(path)
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    with open(path, "rb", buffering=0) as f:
        while got < size:
            n = f.readinto(view[got:])
            if not n:
                raise SystemExit(f"{path}: short read at byte {got} of {size}")
            got += n
    view.release()
    return got


if __name__ == "__main__":
    print(sum(load(p) for p in sys.argv[1:]))
