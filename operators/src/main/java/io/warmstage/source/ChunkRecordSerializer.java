package io.warmstage.source;

import io.warmstage.memory.BufferBytes;
import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Serializes {@link ChunkRecord}s across a network exchange (per-host and fan-out fetch modes). The
 * bytes go out from the record's buffer and come in straight into a pooled direct buffer of the
 * receiving JVM ({@link ChunkBuffers#shared}), through one small reused scratch array per thread
 * (Flink's data views take arrays): no array of the record's size is allocated on either side.
 *
 * <p>Format 3 (what {@link #INSTANCE} writes): target, model, model files, model bytes, file, file
 * size, ETag, header end, offset, data length (-1 for none) and bytes, cache-hit flag, expected
 * checksums (flag, then header CRC-32C, tensor count and each tensor's CRC-32C), cache-owner flag,
 * skipped tensors (-1 for none), release flag, error, then the relay targets (a count, 0 for none,
 * then each key). Strings are nullable ({@code writeBoolean} then {@code writeUTF}). Format 2
 * ({@link #WITHOUT_RELAY}) is the same without the relay targets.
 *
 * <p>Compatibility: the snapshot ({@link Snapshot}) is version 4 for format 3; version 3, what the
 * serializer before the relay targets wrote, restores a format 2 serializer and answers "compatible
 * after migration", so state or in-flight data written before is read in its own format and written
 * again in the current one.
 */
public final class ChunkRecordSerializer extends TypeSerializer<ChunkRecord> {
    private static final long serialVersionUID = 2L;

    /** The current format, with relay targets: what every job writes. */
    public static final ChunkRecordSerializer INSTANCE = new ChunkRecordSerializer(true);

    /** The format before relay targets, restored from a version 3 snapshot to read old data. */
    public static final ChunkRecordSerializer WITHOUT_RELAY = new ChunkRecordSerializer(false);

    private static final int MAX_RELAY = 1 << 16;

    private static final int SCRATCH_BYTES = 64 << 10;
    private static final ThreadLocal<byte[]> SCRATCH =
            ThreadLocal.withInitial(() -> new byte[SCRATCH_BYTES]);

    /** Whether this format writes and reads the relay targets (format 3) or not (format 2). */
    private final boolean relay;

    private ChunkRecordSerializer(boolean relay) {
        this.relay = relay;
    }

    /** Whether this is the current format (with relay targets). */
    public boolean writesRelayTargets() {
        return relay;
    }

    @Override
    public ChunkRecordSerializer duplicate() {
        return this; // stateless
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkRecordSerializer other && other.relay == relay;
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(relay);
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public ChunkRecord createInstance() {
        return new ChunkRecord();
    }

    /** A deep copy whose bytes are a heap copy (not pooled). */
    @Override
    public ChunkRecord copy(ChunkRecord from) {
        ChunkRecord c = from.copy();
        if (from.data != null) {
            byte[] bytes = new byte[from.length()];
            from.bytes().get(bytes);
            c.withBytes(bytes);
        }
        if (from.skipTensors != null) {
            c.skipTensors = from.skipTensors.clone();
        }
        if (from.expectedCrcs != null) {
            c.expectedCrcs = from.expectedCrcs.clone();
        }
        if (from.relayTargets != null) {
            c.relayTargets = from.relayTargets.clone();
        }
        return c;
    }

    @Override
    public ChunkRecord copy(ChunkRecord from, ChunkRecord reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ChunkRecord r, DataOutputView out) throws IOException {
        out.writeInt(r.target);
        writeString(r.model, out);
        out.writeInt(r.modelFiles);
        out.writeLong(r.modelBytes);
        writeString(r.file, out);
        out.writeLong(r.fileSize);
        writeString(r.etag, out);
        out.writeLong(r.headerEnd);
        out.writeLong(r.offset);
        BufferBytes.write(r.data == null ? null : r.bytes(), out);
        out.writeBoolean(r.cacheHit);
        out.writeBoolean(r.expectedHeaderCrc != null);
        if (r.expectedHeaderCrc != null) {
            out.writeInt(r.expectedHeaderCrc);
            int[] crcs = r.expectedCrcs == null ? new int[0] : r.expectedCrcs;
            out.writeInt(crcs.length);
            for (int c : crcs) {
                out.writeInt(c);
            }
        }
        out.writeBoolean(r.cacheOwner);
        if (r.skipTensors == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(r.skipTensors.length);
            for (String t : r.skipTensors) {
                out.writeUTF(t);
            }
        }
        out.writeBoolean(r.release);
        writeString(r.error, out);
        if (relay) {
            int[] targets = r.relayTargets == null ? new int[0] : r.relayTargets;
            out.writeInt(targets.length);
            for (int t : targets) {
                out.writeInt(t);
            }
        }
    }

    @Override
    public ChunkRecord deserialize(DataInputView in) throws IOException {
        ChunkRecord r = new ChunkRecord();
        r.target = in.readInt();
        r.model = readString(in);
        r.modelFiles = in.readInt();
        r.modelBytes = in.readLong();
        r.file = readString(in);
        r.fileSize = in.readLong();
        r.etag = readString(in);
        r.headerEnd = in.readLong();
        r.offset = in.readLong();
        readBytes(r, in);
        try {
            readAfterBytes(r, in);
        } catch (IOException | RuntimeException e) {
            r.releaseReceived(); // nobody else holds the pooled buffer of a record cut short
            throw e;
        }
        return r;
    }

    /** The fields after the bytes, from the cache-hit flag to the relay targets. */
    private void readAfterBytes(ChunkRecord r, DataInputView in) throws IOException {
        r.cacheHit = in.readBoolean();
        if (in.readBoolean()) {
            r.expectedHeaderCrc = in.readInt();
            r.expectedCrcs = new int[in.readInt()];
            for (int i = 0; i < r.expectedCrcs.length; i++) {
                r.expectedCrcs[i] = in.readInt();
            }
        }
        r.cacheOwner = in.readBoolean();
        int skipped = in.readInt();
        if (skipped >= 0) {
            r.skipTensors = new String[skipped];
            for (int i = 0; i < skipped; i++) {
                r.skipTensors[i] = in.readUTF();
            }
        }
        r.release = in.readBoolean();
        r.error = readString(in);
        if (relay) {
            readRelay(r, in);
        }
    }

    @Override
    public ChunkRecord deserialize(ChunkRecord reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        ChunkRecord r = deserialize(in);
        try {
            serialize(r, out);
        } finally {
            r.releaseReceived();
        }
    }

    @Override
    public TypeSerializerSnapshot<ChunkRecord> snapshotConfiguration() {
        return new Snapshot(relay);
    }

    private static void readRelay(ChunkRecord r, DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_RELAY) {
            throw new IOException("chunk record of " + r.file + ": bad relay count " + n);
        }
        if (n > 0) {
            r.relayTargets = new int[n];
            for (int i = 0; i < n; i++) {
                r.relayTargets[i] = in.readInt();
            }
        }
    }

    private static void readBytes(ChunkRecord r, DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return;
        }
        ChunkBuffers pool = ChunkBuffers.shared(WeightSourceOptions.DEFAULT_RECORD_BYTES);
        if (n > pool.bufferBytes()) {
            byte[] bytes = new byte[n];
            in.readFully(bytes);
            r.withBytes(bytes);
            return;
        }
        ChunkBuffer buffer = pool.take();
        try {
            ByteBuffer dst = buffer.memory();
            byte[] scratch = SCRATCH.get();
            for (int left = n; left > 0; ) {
                int k = Math.min(scratch.length, left);
                in.readFully(scratch, 0, k);
                dst.put(scratch, 0, k);
                left -= k;
            }
            r.data = dst.flip().slice();
            r.buffer = buffer;
            r.received = true;
        } catch (IOException | RuntimeException e) {
            buffer.release();
            throw e;
        }
    }

    private static void writeString(String s, DataOutputView out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readString(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }

    /**
     * The serializer's snapshot. Version 4 stands for format 3 (relay targets); version 3 is what
     * {@code SimpleTypeSerializerSnapshot} wrote for format 2 (no content). Neither writes content:
     * the version alone names the format.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<ChunkRecord> {
        /** The snapshot version for the current format. */
        public static final int VERSION = 4;

        /** The snapshot version the format before relay targets was written with. */
        public static final int VERSION_WITHOUT_RELAY = 3;

        private boolean relay;

        /** For Flink's restore: reads its format from the version ({@link #readSnapshot}). */
        public Snapshot() {
            this(true);
        }

        Snapshot(boolean relay) {
            this.relay = relay;
        }

        @Override
        public int getCurrentVersion() {
            return VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
            // the version names the format
        }

        /**
         * @throws IOException if {@code version} is neither 3 nor 4
         */
        @Override
        public void readSnapshot(int version, DataInputView in, ClassLoader classLoader)
                throws IOException {
            relay =
                    switch (version) {
                        case VERSION -> true;
                        case VERSION_WITHOUT_RELAY -> false;
                        default ->
                                throw new IOException(
                                        "unknown ChunkRecordSerializer snapshot version "
                                                + version);
                    };
        }

        @Override
        public TypeSerializer<ChunkRecord> restoreSerializer() {
            return relay ? INSTANCE : WITHOUT_RELAY;
        }

        /**
         * Compatible as is with a current-format snapshot; compatible after migration with a
         * snapshot of the format before relay targets (old data is read by {@link #WITHOUT_RELAY}
         * and written again in the current format); incompatible with any other serializer's.
         */
        @Override
        public TypeSerializerSchemaCompatibility<ChunkRecord> resolveSchemaCompatibility(
                TypeSerializerSnapshot<ChunkRecord> old) {
            if (!(old instanceof Snapshot s)) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            return s.relay
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
    }

    /** Makes Flink use this serializer for {@link ChunkRecord} (see its {@code @TypeInfo}). */
    public static final class TypeInfoFactory
            extends org.apache.flink.api.common.typeinfo.TypeInfoFactory<ChunkRecord> {
        @Override
        public TypeInformation<ChunkRecord> createTypeInfo(
                Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new io.warmstage.memory.SerializerTypeInfo<>(ChunkRecord.class, INSTANCE);
        }
    }
}
