package io.warmstage.source.split;

import io.warmstage.storage.ObjectVersion;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of {@link ChunkSplit}s, for checkpoints and enumerator-to-reader RPC. */
public final class ChunkSplitSerializer implements SimpleVersionedSerializer<ChunkSplit> {
    /** The shared instance. */
    public static final ChunkSplitSerializer INSTANCE = new ChunkSplitSerializer();

    private static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(ChunkSplit split) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            write(split, out);
        }
        return bytes.toByteArray();
    }

    @Override
    public ChunkSplit deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("unknown ChunkSplit serializer version " + version);
        }
        try (DataInputStream in =
                new DataInputStream(new java.io.ByteArrayInputStream(serialized))) {
            return read(in);
        }
    }

    /** Writes one split to {@code out} (also used inside the enumerator state). */
    public static void write(ChunkSplit s, DataOutputStream out) throws IOException {
        out.writeUTF(s.splitId());
        out.writeInt(s.target());
        out.writeUTF(s.model());
        out.writeInt(s.modelFiles());
        out.writeUTF(s.uri());
        out.writeLong(s.version().size());
        writeNullable(s.version().etag(), out);
        out.writeLong(s.headerEnd());
        out.writeLong(s.offset());
        out.writeLong(s.length());
        out.writeBoolean(s.cacheOwner());
        writeNullable(s.error(), out);
        out.writeInt(s.skipTensors().size());
        for (String t : s.skipTensors()) {
            out.writeUTF(t);
        }
        out.writeInt(s.destinations());
        for (int i = 0; i < s.destinations(); i++) {
            out.writeInt(s.destinationTarget(i));
            out.writeBoolean(s.destinationOwner(i));
            out.writeBoolean(s.destinationLocal(i));
        }
        out.writeBoolean(s.isRelease());
        out.writeLong(s.modelBytes());
    }

    /** Reads one split written by {@link #write}. */
    public static ChunkSplit read(DataInputStream in) throws IOException {
        String id = in.readUTF();
        int target = in.readInt();
        String model = in.readUTF();
        int modelFiles = in.readInt();
        String uri = in.readUTF();
        ObjectVersion version = new ObjectVersion(in.readLong(), readNullable(in));
        long headerEnd = in.readLong();
        long offset = in.readLong();
        long length = in.readLong();
        boolean owner = in.readBoolean();
        String error = readNullable(in);
        List<String> skip = new ArrayList<>();
        for (int i = in.readInt(); i > 0; i--) {
            skip.add(in.readUTF());
        }
        ChunkSplit split =
                new ChunkSplit(
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
        int n = in.readInt();
        if (n < 1 || n > 1 << 16) {
            throw new IOException("split " + id + ": bad destination count " + n);
        }
        int[] targets = new int[n];
        boolean[] owners = new boolean[n];
        boolean[] local = new boolean[n];
        for (int i = 0; i < n; i++) {
            targets[i] = in.readInt();
            owners[i] = in.readBoolean();
            local[i] = in.readBoolean();
        }
        boolean release = in.readBoolean();
        long modelBytes = in.readLong();
        if (release) {
            return ChunkSplit.release(id, target, model);
        }
        split = n == 1 && local[0] ? split : split.withDestinations(targets, owners, local);
        return modelBytes == 0 ? split : split.withModelBytes(modelBytes);
    }

    private static void writeNullable(String s, DataOutputStream out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s.length() > 16_000 ? s.substring(0, 16_000) : s);
        }
    }

    private static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
