#!/usr/bin/env python3
"""CPU seconds (user + sys) spent so far by a process and all its descendants, from /proc.

Usage: tree_cpu.py PID
For PID and every live descendant: utime + stime (its own) + cutime + cstime (its children that
have exited and were waited for), fields 14-17 of /proc/PID/stat, in clock ticks. Prints their sum
in seconds. bench/run reads it the moment a stage's cluster is up, so that the CPU of the staging
part is GNU time's user + sys of the whole command minus this.
"""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): field N is rest[N - 3].
    return int(rest[1]), sum(int(rest[i - 3]) for i in (14, 15, 16, 17))


def main():
    root = int(sys.argv[1])
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat(name)
            if st:
                procs[int(name)] = st
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            total += procs[pid][1]
            todo += children.get(pid, [])
    print(f"{total / TICK:.2f}")


if __name__ == "__main__":
    main()
