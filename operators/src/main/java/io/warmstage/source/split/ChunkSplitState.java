package io.warmstage.source.split;

/**
 * The mutable progress of a {@link ChunkSplit} in a reader: the offset of the next byte not yet
 * emitted. A checkpoint turns it back into a split covering only the bytes still to read.
 */
public final class ChunkSplitState {
    private final ChunkSplit split;
    private long next;

    public ChunkSplitState(ChunkSplit split) {
        this.split = split;
        this.next = split.offset();
    }

    public ChunkSplit split() {
        return split;
    }

    /** Absolute offset of the next byte to emit. */
    public long next() {
        return next;
    }

    /** Records that bytes up to {@code end} (exclusive) were emitted. */
    public void advanceTo(long end) {
        if (end < next || end > split.end()) {
            throw new IllegalStateException(
                    "cannot advance " + split.splitId() + " from " + next + " to " + end);
        }
        next = end;
    }

    /** A split for the bytes not yet emitted. */
    public ChunkSplit toSplit() {
        if (next == split.offset()) {
            return split;
        }
        return split.withRange(next, split.end() - next);
    }
}
