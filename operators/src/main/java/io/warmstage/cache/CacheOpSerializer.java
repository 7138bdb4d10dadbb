package io.warmstage.cache;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Serializes {@link CacheOp}s: in a checkpoint of the cache writer's in-flight operations, and on
 * any copy. A WRITE's bytes are written from its shared buffer and read back into a heap array (a
 * restored or copied op holds no pooled memory).
 *
 * <p>Format (version 2): kind ordinal, target, URI, size, ETag, offset, bytes (-1 for none),
 * CRC-32C (flag + int), staging's checksums (flag, header CRC-32C, tensor count, each tensor's
 * CRC-32C), reason. Strings are nullable ({@code writeBoolean} then {@code writeUTF}).
 */
public final class CacheOpSerializer extends TypeSerializerSingleton<CacheOp> {
    private static final long serialVersionUID = 1L;

    /** The one instance. */
    public static final CacheOpSerializer INSTANCE = new CacheOpSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public CacheOp createInstance() {
        return new CacheOp();
    }

    /**
     * A copy that takes over the op's bytes and its reference to pooled memory, without copying
     * them: Flink's asynchronous operator copies every input record when object reuse is on, and
     * drops the original, so exactly one of the two is ever written and released. (A deep copy here
     * made a 4 MiB heap array per chunk and left the original's pooled buffer unreleased.)
     */
    @Override
    public CacheOp copy(CacheOp from) {
        CacheOp c = new CacheOp();
        c.kind = from.kind;
        c.target = from.target;
        c.uri = from.uri;
        c.size = from.size;
        c.etag = from.etag;
        c.offset = from.offset;
        c.data = from.data;
        c.buffer = from.buffer;
        c.lease = from.lease;
        c.crc32c = from.crc32c;
        c.headerCrc32c = from.headerCrc32c;
        c.tensorCrc32c = from.tensorCrc32c;
        c.reason = from.reason;
        return c;
    }

    @Override
    public CacheOp copy(CacheOp from, CacheOp reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(CacheOp op, DataOutputView out) throws IOException {
        out.writeInt(op.kind == null ? -1 : op.kind.ordinal());
        out.writeInt(op.target);
        writeString(op.uri, out);
        out.writeLong(op.size);
        writeString(op.etag, out);
        out.writeLong(op.offset);
        synchronized (op) { // the bytes stay in their pooled buffer until written out here
            io.warmstage.memory.BufferBytes.write(
                    op.buffer == null && op.data == null ? null : op.bytes(), out);
        }
        out.writeBoolean(op.crc32c != null);
        if (op.crc32c != null) {
            out.writeInt(op.crc32c);
        }
        out.writeBoolean(op.headerCrc32c != null && op.tensorCrc32c != null);
        if (op.headerCrc32c != null && op.tensorCrc32c != null) {
            out.writeInt(op.headerCrc32c);
            out.writeInt(op.tensorCrc32c.length);
            for (int c : op.tensorCrc32c) {
                out.writeInt(c);
            }
        }
        writeString(op.reason, out);
    }

    @Override
    public CacheOp deserialize(DataInputView in) throws IOException {
        CacheOp op = new CacheOp();
        int kind = in.readInt();
        op.kind = kind < 0 ? null : CacheOp.Kind.values()[kind];
        op.target = in.readInt();
        op.uri = readString(in);
        op.size = in.readLong();
        op.etag = readString(in);
        op.offset = in.readLong();
        int n = in.readInt();
        if (n >= 0) {
            op.data = new byte[n];
            in.readFully(op.data);
        }
        if (in.readBoolean()) {
            op.crc32c = in.readInt();
        }
        if (in.readBoolean()) {
            op.headerCrc32c = in.readInt();
            op.tensorCrc32c = new int[in.readInt()];
            for (int i = 0; i < op.tensorCrc32c.length; i++) {
                op.tensorCrc32c[i] = in.readInt();
            }
        }
        op.reason = readString(in);
        return op;
    }

    @Override
    public CacheOp deserialize(CacheOp reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<CacheOp> snapshotConfiguration() {
        return new Snapshot();
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
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<CacheOp> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }

    /** Makes Flink use this serializer for {@link CacheOp} (see its {@code @TypeInfo}). */
    public static final class Factory
            extends org.apache.flink.api.common.typeinfo.TypeInfoFactory<CacheOp> {
        @Override
        public TypeInformation<CacheOp> createTypeInfo(
                Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new io.warmstage.memory.SerializerTypeInfo<>(CacheOp.class, INSTANCE);
        }
    }
}
