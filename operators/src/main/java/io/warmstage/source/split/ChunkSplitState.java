package io.warmstage.source.split;

/**
 * The mutable progress of a {@link ChunkSplit} in a reader: the offset of the next byte not yet
 * emitted. A checkpoint turns it back into a split covering only the bytes still to read. A failure
 * or release split has the empty range {@code [0, 0)}.
 */
public final class ChunkSplitState {
    private final ChunkSplit split;
    private long next;

    public ChunkSplitState(ChunkSplit split) {
        this.split = split;
        this.next = split instanceof DataSplit d ? d.offset() : 0;
    }

    public ChunkSplit split() {
        return split;
    }

    /** Absolute offset of the next byte to emit. */
    public long next() {
        return next;
    }

    /** One past the split's last byte. */
    public long end() {
        return split instanceof DataSplit d ? d.end() : 0;
    }

    /**
     * Records that bytes up to {@code end} (exclusive) were emitted.
     *
     * @throws IllegalStateException if {@code end} is before {@link #next()} or after {@link
     *     #end()}
     */
    public void advanceTo(long end) {
        if (end < next || end > end()) {
            throw new IllegalStateException(
                    "cannot advance " + split.splitId() + " from " + next + " to " + end);
        }
        next = end;
    }

    /** A split for the bytes not yet emitted. */
    public ChunkSplit toSplit() {
        return split instanceof DataSplit d && next != d.offset()
                ? d.withRange(next, d.end() - next)
                : split;
    }
}
