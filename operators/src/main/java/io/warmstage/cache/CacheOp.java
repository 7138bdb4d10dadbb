package io.warmstage.cache;

import io.warmstage.memory.ChunkBuffer;
import io.warmstage.storage.ObjectVersion;
import java.net.URI;
import java.nio.ByteBuffer;

/**
 * One instruction to {@link CacheWriter}, with a serializer of its own ({@link CacheOpSerializer};
 * no Kryo): write a chunk of a file at an offset, commit the file, or abort it. The ops of one file
 * reach one writer; its writes may come in any order, then one commit or abort.
 */
@org.apache.flink.api.common.typeinfo.TypeInfo(CacheOpSerializer.Factory.class)
public class CacheOp {
    /** What the op asks for. */
    public enum Kind {
        /** Write {@link #data} at {@link #offset}. */
        WRITE,
        /** Publish the file once its writes are done. */
        COMMIT,
        /** Drop the file once its writes are done. */
        ABORT
    }

    /** What the op asks for. */
    public Kind kind;

    /** The staging slot (target) the chunk came from. */
    public int target;

    /** The object's URI. */
    public String uri;

    /** The pinned object size in bytes. */
    public long size;

    /** The pinned ETag, or null. */
    public String etag;

    /** WRITE: file offset of {@link #data} in bytes. */
    public long offset;

    /** WRITE: the chunk's bytes as a heap array, when they are not in {@link #buffer}. */
    public byte[] data;

    /**
     * WRITE: the chunk's bytes, shared with the staging operator (a serialized op carries them in
     * {@link #data} instead).
     */
    public transient ByteBuffer buffer;

    /** WRITE: the reference to {@link #buffer}'s pooled memory this op holds, or null. */
    public transient ChunkBuffer lease;

    /** COMMIT: the file's expected CRC-32C when known (e.g. from the device), else null. */
    public Integer crc32c;

    /**
     * COMMIT: the CRC-32C of the file's header bytes, computed by staging from the bytes it wrote,
     * or null. With {@link #tensorCrc32c} the writer publishes without reading the file back.
     */
    public Integer headerCrc32c;

    /** COMMIT: each tensor's CRC-32C in data-offset order (see {@link #headerCrc32c}), or null. */
    public int[] tensorCrc32c;

    /** ABORT: why. */
    public String reason;

    /** An empty op, for the serializer. */
    public CacheOp() {}

    /** A WRITE of {@code data} at byte {@code offset} of {@code uri} at {@code version}. */
    public static CacheOp write(
            int target, URI uri, ObjectVersion version, long offset, byte[] data) {
        CacheOp op = of(Kind.WRITE, target, uri, version);
        op.offset = offset;
        op.data = data;
        return op;
    }

    /**
     * A WRITE of {@code bytes} at byte {@code offset}, sharing them (no copy): takes a reference to
     * their pooled {@code buffer} (null when they are not pooled), which the writer gives back once
     * written.
     */
    public static CacheOp write(
            int target,
            URI uri,
            ObjectVersion version,
            long offset,
            ByteBuffer bytes,
            ChunkBuffer buffer) {
        CacheOp op = of(Kind.WRITE, target, uri, version);
        op.offset = offset;
        op.buffer = bytes;
        op.lease = buffer == null ? null : buffer.retain();
        return op;
    }

    /** The bytes of a WRITE: a view of {@link #buffer}, else of {@link #data}, else empty. */
    public ByteBuffer bytes() {
        if (buffer != null) {
            return buffer.duplicate();
        }
        return ByteBuffer.wrap(data == null ? new byte[0] : data);
    }

    /**
     * Gives back this op's reference to pooled memory, if it holds one, and forgets {@link #buffer}
     * with it: the pool hands that memory to its next user, so an op still checkpointed after its
     * write (Flink's asynchronous operator keeps it queued until the result is emitted) carries no
     * bytes rather than someone else's; a restored writer reads the gap from the origin.
     * Idempotent; thread-safe with {@link CacheOpSerializer#serialize}.
     */
    public synchronized void releaseBuffer() {
        ChunkBuffer l = lease;
        lease = null;
        if (l != null) {
            buffer = null;
            l.release();
        }
    }

    /** A COMMIT of {@code uri} at {@code version}; {@code crc32c} may be null. */
    public static CacheOp commit(int target, URI uri, ObjectVersion version, Integer crc32c) {
        CacheOp op = of(Kind.COMMIT, target, uri, version);
        op.crc32c = crc32c;
        return op;
    }

    /**
     * A COMMIT of {@code uri} at {@code version} with the checksums staging computed from the bytes
     * it wrote: its header's CRC-32C and each tensor's in data-offset order.
     */
    public static CacheOp commit(
            int target, URI uri, ObjectVersion version, int headerCrc32c, int[] tensorCrc32c) {
        CacheOp op = of(Kind.COMMIT, target, uri, version);
        op.headerCrc32c = headerCrc32c;
        op.tensorCrc32c = tensorCrc32c;
        return op;
    }

    /** An ABORT of {@code uri} at {@code version}, saying why. */
    public static CacheOp abort(int target, URI uri, ObjectVersion version, String reason) {
        CacheOp op = of(Kind.ABORT, target, uri, version);
        op.reason = reason;
        return op;
    }

    /** The pinned version this op refers to. */
    public ObjectVersion version() {
        return new ObjectVersion(size, etag);
    }

    @Override
    public String toString() {
        return kind + " " + uri + (kind == Kind.WRITE ? " @" + offset : "");
    }

    private static CacheOp of(Kind kind, int target, URI uri, ObjectVersion version) {
        CacheOp op = new CacheOp();
        op.kind = kind;
        op.target = target;
        op.uri = uri.toString();
        op.size = version.size();
        op.etag = version.etag();
        return op;
    }
}
