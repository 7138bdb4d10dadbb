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

    private static final int VERSION = 1;

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
        return new ChunkSplit(
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
