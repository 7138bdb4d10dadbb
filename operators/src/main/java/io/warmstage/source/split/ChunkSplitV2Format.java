package io.warmstage.source.split;

import java.io.DataInputStream;
import java.io.IOException;
import java.util.List;

/**
 * Reads splits in version 2 of {@link ChunkSplitSerializer}'s format, which wrote every kind of
 * split in one layout: id, target, model, model files, URI, size, nullable ETag, header end,
 * offset, length, cache owner, nullable error, skipped tensors, destinations, release flag, model
 * bytes. A failure split had an error, a release split the release flag (and a made-up URI).
 */
final class ChunkSplitV2Format {
    private ChunkSplitV2Format() {}

    static ChunkSplit read(DataInputStream in) throws IOException {
        // The owner flag in the common fields is the first destination's, repeated below.
        ChunkSplitV1Format.Fields f = ChunkSplitV1Format.Fields.read(in, false);
        List<Destination> to = ChunkSplitSerializer.readDestinations(f.id(), in, false);
        boolean release = in.readBoolean();
        long modelBytes = in.readLong();
        if (release) {
            return new ReleaseSplit(f.id(), f.model(), f.target());
        }
        if (f.error() != null) {
            return new FailureSplit(
                    f.id(), f.model(), f.modelFiles(), f.uri(), f.error(), f.target(), modelBytes);
        }
        return f.dataSplit(to, modelBytes);
    }
}
