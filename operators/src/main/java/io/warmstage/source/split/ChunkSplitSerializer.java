package io.warmstage.source.split;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Versioned serializer of {@link ChunkSplit}s, for checkpoints and enumerator-to-reader RPC. It
 * writes version 4 and reads every version it wrote:
 *
 * <ul>
 *   <li>4: as version 3, and each destination of a data split ends with its relay targets (a count,
 *       then each key; {@link Destination#relay()});
 *   <li>3: a kind byte (0 data, 1 failure, 2 release), then only that kind's fields;
 *   <li>2: one layout for every kind ({@link ChunkSplitV2Format});
 *   <li>1: one kind of split, data or failure, without destinations or model bytes ({@link
 *       ChunkSplitV1Format}).
 * </ul>
 */
public final class ChunkSplitSerializer implements SimpleVersionedSerializer<ChunkSplit> {
    /** The shared instance. */
    public static final ChunkSplitSerializer INSTANCE = new ChunkSplitSerializer();

    /** The version {@link #serialize} writes. */
    public static final int VERSION = 4;

    private static final byte DATA = 0;
    private static final byte FAILURE = 1;
    private static final byte RELEASE = 2;
    private static final int MAX_DESTINATIONS = 1 << 16;
    private static final int MAX_RELAY = 1 << 16;

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

    /**
     * @throws IOException if {@code version} is not one this serializer ever wrote, or the bytes
     *     are not a split of that version (cut short: the message gives the version and length)
     */
    @Override
    public ChunkSplit deserialize(int version, byte[] serialized) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            // Alone, a version 1 split may be in either of that version's two layouts.
            return version == 1 ? ChunkSplitV1Format.read(in, true) : read(version, in);
        } catch (EOFException e) {
            throw new IOException(
                    "split bytes (version "
                            + version
                            + ", "
                            + serialized.length
                            + " bytes) end before the split does",
                    e);
        }
    }

    /**
     * Writes one split in the current version to {@code out} (also inside the enumerator state).
     */
    public static void write(ChunkSplit split, DataOutputStream out) throws IOException {
        if (split instanceof DataSplit s) {
            out.writeByte(DATA);
            out.writeUTF(s.id());
            out.writeUTF(s.model());
            out.writeInt(s.modelFiles());
            out.writeUTF(s.uri());
            out.writeLong(s.version().size());
            writeNullable(s.version().etag(), out);
            out.writeLong(s.headerEnd());
            out.writeLong(s.offset());
            out.writeLong(s.length());
            out.writeInt(s.skipTensors().size());
            for (String t : s.skipTensors()) {
                out.writeUTF(t);
            }
            writeDestinations(s.destinations(), out);
            out.writeLong(s.modelBytes());
        } else if (split instanceof FailureSplit s) {
            out.writeByte(FAILURE);
            out.writeUTF(s.id());
            out.writeUTF(s.model());
            out.writeInt(s.modelFiles());
            out.writeUTF(s.uri());
            out.writeUTF(truncated(s.error()));
            out.writeInt(s.target());
            out.writeLong(s.modelBytes());
        } else {
            ReleaseSplit s = (ReleaseSplit) split;
            out.writeByte(RELEASE);
            out.writeUTF(s.id());
            out.writeUTF(s.model());
            out.writeInt(s.target());
        }
    }

    /**
     * Reads one split that {@link #write} wrote in {@code version}, with more data possibly
     * following it (for version 1, only the last of its layouts, see {@link ChunkSplitV1Format}).
     *
     * @throws IOException if the version is unknown or the bytes are not a split
     */
    public static ChunkSplit read(int version, DataInputStream in) throws IOException {
        return switch (version) {
            case 4 -> readV3(in, true);
            case 3 -> readV3(in, false);
            case 2 -> ChunkSplitV2Format.read(in);
            case 1 -> ChunkSplitV1Format.read(in, false);
            default -> throw new IOException("unknown ChunkSplit serializer version " + version);
        };
    }

    /** Versions 3 and 4, which differ only in whether destinations carry relay targets. */
    private static ChunkSplit readV3(DataInputStream in, boolean relay) throws IOException {
        byte kind = in.readByte();
        String id = in.readUTF();
        String model = in.readUTF();
        return switch (kind) {
            case DATA -> readData(id, model, in, relay);
            case FAILURE ->
                    new FailureSplit(
                            id,
                            model,
                            in.readInt(),
                            in.readUTF(),
                            in.readUTF(),
                            in.readInt(),
                            in.readLong());
            case RELEASE -> new ReleaseSplit(id, model, in.readInt());
            default -> throw new IOException("split " + id + ": unknown kind " + kind);
        };
    }

    private static DataSplit readData(String id, String model, DataInputStream in, boolean relay)
            throws IOException {
        int modelFiles = in.readInt();
        String uri = in.readUTF();
        FileId file = new FileId(uri, new ObjectVersion(in.readLong(), readNullable(in)));
        long headerEnd = in.readLong();
        long offset = in.readLong();
        long length = in.readLong();
        List<String> skip = new ArrayList<>();
        for (int i = in.readInt(); i > 0; i--) {
            skip.add(in.readUTF());
        }
        List<Destination> to = readDestinations(id, in, relay);
        return new DataSplit(
                id, model, modelFiles, file, headerEnd, offset, length, skip, to, in.readLong());
    }

    private static void writeDestinations(List<Destination> to, DataOutputStream out)
            throws IOException {
        out.writeInt(to.size());
        for (Destination d : to) {
            out.writeInt(d.target());
            out.writeBoolean(d.cacheOwner());
            out.writeBoolean(d.local());
            out.writeInt(d.relay().size());
            for (int t : d.relay()) {
                out.writeInt(t);
            }
        }
    }

    /**
     * Destinations as versions 2 to 4 write them: a count, then target, owner, local each and, from
     * version 4 ({@code relay}), the relay targets' count and keys.
     */
    static List<Destination> readDestinations(String id, DataInputStream in, boolean relay)
            throws IOException {
        int n = in.readInt();
        if (n < 1 || n > MAX_DESTINATIONS) {
            throw new IOException("split " + id + ": bad destination count " + n);
        }
        List<Destination> to = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int target = in.readInt();
            boolean owner = in.readBoolean();
            boolean local = in.readBoolean();
            List<Integer> keys = relay ? readRelay(id, in) : List.of();
            try {
                to.add(new Destination(target, owner, local, keys));
            } catch (IllegalArgumentException e) {
                throw new IOException("split " + id + ": " + e.getMessage(), e);
            }
        }
        return to;
    }

    private static List<Integer> readRelay(String id, DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_RELAY) {
            throw new IOException("split " + id + ": bad relay target count " + n);
        }
        List<Integer> relay = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            relay.add(in.readInt());
        }
        return relay;
    }

    private static String truncated(String s) {
        return s.length() > 16_000 ? s.substring(0, 16_000) : s;
    }

    private static void writeNullable(String s, DataOutputStream out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(truncated(s));
        }
    }

    static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
