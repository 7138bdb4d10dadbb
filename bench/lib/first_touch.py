#!/usr/bin/env python3
"""Cost of the first touch of new anonymous memory on this machine, in seconds per GiB.

Maps 512 MiB, writes one byte per 4 KiB page, unmaps; once with plain pages and once with
madvise(MADV_HUGEPAGE) (transparent huge pages, where the kernel allows them); best of 3 each.
Every fresh buffer a loader or a cpu device fills pays this once per page: on some virtual
machines it costs more than the copy itself, so it is printed beside the results.
"""
import mmap
import time

N = 512 << 20


def touch(huge):
    m = mmap.mmap(-1, N, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge:
        m.madvise(mmap.MADV_HUGEPAGE)
    t = time.perf_counter()
    for off in range(0, N, 4096):
        m[off] = 1
    d = time.perf_counter() - t
    m.close()
    return d * (1 << 30) / N


small = min(touch(False) for _ in range(3))
huge = min(touch(True) for _ in range(3))
try:
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        thp = f.read().strip()
except OSError:
    thp = "unknown"
print(f"{small:.2f} s/GiB with 4 KiB pages, {huge:.2f} s/GiB with madvise(MADV_HUGEPAGE) "
      f"(transparent_hugepage: {thp})")
