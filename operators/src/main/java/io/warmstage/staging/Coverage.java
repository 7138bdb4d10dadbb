package io.warmstage.staging;

import java.util.Map;
import java.util.TreeMap;

/**
 * The byte ranges of a file received so far, as disjoint half-open intervals {@code [start, end)},
 * merged as they touch. Adding a range twice is harmless (a replay after a restore).
 */
public final class Coverage {
    private final TreeMap<Long, Long> ranges = new TreeMap<>();
    private long covered;

    /** Adds {@code [start, end)}; {@code start <= end}. */
    public void add(long start, long end) {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
        }
        if (start == end) {
            return;
        }
        Map.Entry<Long, Long> before = ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
            remove(before.getKey());
        }
        Map.Entry<Long, Long> next = ranges.ceilingEntry(start);
        while (next != null && next.getKey() <= end) {
            end = Math.max(end, next.getValue());
            remove(next.getKey());
            next = ranges.ceilingEntry(start);
        }
        ranges.put(start, end);
        covered += end - start;
    }

    /** True if every byte of {@code [start, end)} has been added; always true when empty. */
    public boolean covers(long start, long end) {
        if (start >= end) {
            return true;
        }
        Map.Entry<Long, Long> e = ranges.floorEntry(start);
        return e != null && e.getValue() >= end;
    }

    /** Number of distinct bytes added. */
    public long coveredBytes() {
        return covered;
    }

    /** Number of disjoint intervals held. */
    public int intervals() {
        return ranges.size();
    }

    /** The intervals as {@code start, end} pairs, in order. */
    public long[] toPairs() {
        long[] out = new long[ranges.size() * 2];
        int i = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            out[i++] = e.getKey();
            out[i++] = e.getValue();
        }
        return out;
    }

    private void remove(long key) {
        Long end = ranges.remove(key);
        covered -= end - key;
    }
}
