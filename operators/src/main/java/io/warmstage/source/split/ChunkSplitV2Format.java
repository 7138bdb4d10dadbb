package io.warmstage.source.split;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
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
        String id = in.readUTF();
        int target = in.readInt();
        String model = in.readUTF();
        int modelFiles = in.readInt();
        String uri = in.readUTF();
        ObjectVersion version =
                new ObjectVersion(in.readLong(), ChunkSplitSerializer.readNullable(in));
        long headerEnd = in.readLong();
        long offset = in.readLong();
        long length = in.readLong();
        in.readBoolean(); // the first destination's cache owner flag, repeated below
        String error = ChunkSplitSerializer.readNullable(in);
        List<String> skip = new ArrayList<>();
        for (int i = in.readInt(); i > 0; i--) {
            skip.add(in.readUTF());
        }
        List<Destination> to = ChunkSplitSerializer.readDestinations(id, in);
        boolean release = in.readBoolean();
        long modelBytes = in.readLong();
        if (release) {
            return new ReleaseSplit(id, model, target);
        }
        if (error != null) {
            return new FailureSplit(id, model, modelFiles, uri, error, target, modelBytes);
        }
        return new DataSplit(
                id,
                model,
                modelFiles,
                new FileId(uri, version),
                headerEnd,
                offset,
                length,
                skip,
                to,
                modelBytes);
    }
}
