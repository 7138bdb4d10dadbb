package io.warmstage.source.split;

import io.warmstage.storage.ObjectVersion;

/** Splits for tests of other packages. */
public final class ChunkSplitSerializerTestSupport {
    private ChunkSplitSerializerTestSupport() {}

    /** A split of {@code length} bytes at {@code offset} of a large object. */
    public static ChunkSplit split(long offset, long length) {
        return new ChunkSplit(
                "0:x@" + offset,
                0,
                "m",
                1,
                "file:///x",
                new ObjectVersion(1L << 40, "v"),
                0,
                offset,
                length,
                false,
                null);
    }
}
