#!/usr/bin/env python3
"""Top frames of a CPU profile in collapsed-stack form (async-profiler's `collapsed` output).

Usage: collapsed.py FILE [--top N]
  FILE  one stack per line: frame;frame;...;leaf SAMPLES (root first, leaf last)
Prints Markdown: the N frames with the most self samples (the leaf of a stack) and the N with the
most inclusive samples (anywhere in a stack, counted once per stack even when recursive), each
with its share of all samples. The inclusive table leaves out, unless --all, what says nothing of
where the time goes: thread start-up plumbing (start_thread, JavaCalls::, Thread.run, ...) and
pass-through frames (no self samples and one callee with the same inclusive samples: the callee
stands for them).
"""
import argparse
import re
from collections import Counter, defaultdict

PLUMBING = re.compile(
    r"^(start_thread|clone3?|thread_native_entry|Thread::call_run|JavaThread::|thread_entry|"
    r"JavaCalls::|call_stub|StubRoutines|java/lang/Thread\.run(With)?|"
    r"java/util/concurrent/ThreadPoolExecutor(\$Worker\.run|\.runWorker))\b")


def read(path):
    stacks = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                raise SystemExit(f"{path}:{n}: not 'frame;...;frame SAMPLES': {line[:80]!r}")
            stacks.append((stack.split(";"), int(count)))
    return stacks


def table(title, counter, total, top):
    out = [f"**{title}**", "", "| # | frame | samples | % of all |", "|---:|---|---:|---:|"]
    for i, (frame, n) in enumerate(counter.most_common(top), 1):
        shown = frame.replace("|", "\\|")
        if len(shown) > 140:
            shown = shown[:137] + "..."
        out.append(f"| {i} | `{shown}` | {n} | {100 * n / total:.1f} |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--all", action="store_true",
                    help="inclusive table: every frame (no plumbing or pass-through left out)")
    args = ap.parse_args()
    stacks = read(args.file)
    total = sum(n for _, n in stacks)
    if total == 0:
        raise SystemExit(f"{args.file}: no samples")
    own, incl = Counter(), Counter()
    callees = defaultdict(set)
    for frames, n in stacks:
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
        for caller, callee in zip(frames, frames[1:]):
            callees[caller].add(callee)
    if not args.all:
        shown = Counter()
        for frame, n in incl.items():
            through = (own[frame] == 0 and len(callees[frame]) == 1
                       and incl[next(iter(callees[frame]))] == n)
            if not through and not PLUMBING.search(frame):
                shown[frame] = n
        incl = shown
    out = [f"{total} samples, {len(stacks)} distinct stacks.", ""]
    out += table(f"Top {args.top} frames by self samples", own, total, args.top)
    out.append("")
    out += table(f"Top {args.top} frames by inclusive samples (the frame or anything it calls"
                 + ("" if args.all else "; thread plumbing and pass-through frames left out")
                 + ")", incl, total, args.top)
    print("\n".join(out))


if __name__ == "__main__":
    main()
