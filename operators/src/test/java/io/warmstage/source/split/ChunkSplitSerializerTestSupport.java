package io.warmstage.source.split;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.util.List;

/** Splits for tests of other packages. */
public final class ChunkSplitSerializerTestSupport {
    private ChunkSplitSerializerTestSupport() {}

    /** A split of {@code length} bytes at {@code offset} of a large object. */
    public static DataSplit split(long offset, long length) {
        return new DataSplit(
                "0:x@" + offset,
                "m",
                1,
                new FileId("file:///x", new ObjectVersion(1L << 40, "v")),
                0,
                offset,
                length,
                List.of(),
                List.of(Destination.of(0)),
                0);
    }
}
