package io.warmstage.source;

import io.warmstage.memory.BufferBytes;
import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Serializes {@link ChunkRecord}s across a network exchange (per-host and fan-out fetch modes). The
 * bytes go out from the record's buffer and come in straight into a pooled direct buffer of the
 * receiving JVM ({@link ChunkBuffers#shared}), through one small reused scratch array per thread
 * (Flink's data views take arrays): no array of the record's size is allocated on either side.
 *
 * <p>Format (version 2): target, model, model files, model bytes, file, file size, ETag, header
 * end, offset, data length (-1 for none) and bytes, cache-hit flag, expected checksums (flag, then
 * header CRC-32C, tensor count and each tensor's CRC-32C), cache-owner flag, skipped tensors (-1
 * for none), release flag, error. Strings are nullable ({@code writeBoolean} then {@code
 * writeUTF}).
 */
public final class ChunkRecordSerializer extends TypeSerializerSingleton<ChunkRecord> {
    private static final long serialVersionUID = 1L;

    /** The one instance. */
    public static final ChunkRecordSerializer INSTANCE = new ChunkRecordSerializer();

    private static final int SCRATCH_BYTES = 64 << 10;
    private static final ThreadLocal<byte[]> SCRATCH =
            ThreadLocal.withInitial(() -> new byte[SCRATCH_BYTES]);

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
        return r;
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
        return new Snapshot();
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

    /** Restores the serializer from a snapshot (the format has one version so far). */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<ChunkRecord> {
        public Snapshot() {
            super(() -> INSTANCE);
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
