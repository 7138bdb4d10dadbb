package io.warmstage.source.split;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads splits in version 1 of {@link ChunkSplitSerializer}'s format. Version 1 had one kind of
 * split (a byte range, or a failure when the error is set; no release splits) and two layouts under
 * the same version number:
 *
 * <ol>
 *   <li>first: id, target, model, model files, URI, size, nullable ETag, header end, offset,
 *       length, cache owner, nullable error;
 *   <li>last: the same, then the skipped tensors (a count, then each name).
 * </ol>
 *
 * <p>A split serialized on its own ends right after the error in the first layout and holds at
 * least the four bytes of the count in the last, so {@link #read} tells them apart by the bytes
 * left. Inside an enumerator state the next split follows, so there only the last layout is read.
 *
 * <p>Fields version 1 did not have get these values: the single destination is the split's target,
 * local, with the split's cache owner flag; the skipped tensors (first layout) are none; the
 * model's bytes are 0 (unknown).
 */
final class ChunkSplitV1Format {
    private ChunkSplitV1Format() {}

    /**
     * @param alone whether {@code in} holds this split alone (then either layout is read) or more
     *     data follows it (then only the last layout)
     */
    static ChunkSplit read(DataInputStream in, boolean alone) throws IOException {
        Fields f = Fields.read(in, alone);
        if (f.error != null) {
            return new FailureSplit(f.id, f.model, f.modelFiles, f.uri, f.error, f.target, 0);
        }
        return f.dataSplit(List.of(new Destination(f.target, f.owner, true)), 0);
    }

    /**
     * The fields every layout of versions 1 and 2 begins with, in their order; version 2 writes
     * destinations, the release flag and the model's bytes after them.
     */
    record Fields(
            String id,
            int target,
            String model,
            int modelFiles,
            String uri,
            ObjectVersion version,
            long headerEnd,
            long offset,
            long length,
            boolean owner,
            String error,
            List<String> skip) {

        /**
         * @param alone whether {@code in} holds this split alone: then the skipped tensors are read
         *     only if bytes are left after the error (version 1's first layout ends there); else
         *     they always follow it
         */
        static Fields read(DataInputStream in, boolean alone) throws IOException {
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
            boolean owner = in.readBoolean();
            String error = ChunkSplitSerializer.readNullable(in);
            List<String> skip = new ArrayList<>();
            if (!alone || in.available() > 0) {
                for (int i = in.readInt(); i > 0; i--) {
                    skip.add(in.readUTF());
                }
            }
            return new Fields(
                    id,
                    target,
                    model,
                    modelFiles,
                    uri,
                    version,
                    headerEnd,
                    offset,
                    length,
                    owner,
                    error,
                    skip);
        }

        DataSplit dataSplit(List<Destination> to, long modelBytes) {
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
}
