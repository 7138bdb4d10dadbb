package io.warmstage.cache;

import java.util.Map;
import java.util.TreeMap;

/**
 * The byte ranges written so far, merged; thread-safe. Used to require that a commit covers exactly
 * {@code [0, size)}.
 */
final class RangeSet {
    /** Start to end (exclusive) of disjoint, non-adjacent ranges. */
    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    /** Adds {@code [start, end)}; empty ranges are ignored. */
    synchronized void add(long start, long end) {
        if (end <= start) {
            return;
        }
        long s = start;
        long e = end;
        Map.Entry<Long, Long> before = ranges.floorEntry(s);
        if (before != null && before.getValue() >= s) {
            s = before.getKey();
            e = Math.max(e, before.getValue());
        }
        Map.Entry<Long, Long> next = ranges.ceilingEntry(s);
        while (next != null && next.getKey() <= e) {
            e = Math.max(e, next.getValue());
            ranges.remove(next.getKey());
            next = ranges.ceilingEntry(s);
        }
        ranges.put(s, e);
    }

    /**
     * The first byte range of {@code [0, size)} not yet written, as {@code "[a, b)"}, or null when
     * every byte is covered.
     */
    synchronized String firstGap(long size) {
        long covered = 0;
        for (Map.Entry<Long, Long> r : ranges.entrySet()) {
            if (r.getKey() > covered) {
                break;
            }
            covered = Math.max(covered, r.getValue());
        }
        return covered >= size ? null : "[" + covered + ", " + gapEnd(covered, size) + ")";
    }

    /** Every range of {@code [0, size)} not yet written, as {@code start, end} pairs in order. */
    synchronized java.util.List<long[]> gaps(long size) {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        long at = 0;
        for (Map.Entry<Long, Long> r : ranges.entrySet()) {
            if (at >= size) {
                break;
            }
            if (r.getKey() > at) {
                out.add(new long[] {at, Math.min(r.getKey(), size)});
            }
            at = Math.max(at, r.getValue());
        }
        if (at < size) {
            out.add(new long[] {at, size});
        }
        return out;
    }

    private long gapEnd(long covered, long size) {
        Long next = ranges.higherKey(covered);
        return next == null ? size : Math.min(next, size);
    }
}
