package io.warmstage.source;

import io.warmstage.memory.ChunkBuffer;
import java.nio.ByteBuffer;
import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * One record of the weight stream: at most {@link WeightSourceOptions#RECORD_SIZE} bytes of one
 * file at one byte offset, addressed to one target (a staging slot), or a failure of that file.
 *
 * <p>Public fields and a serializer of its own ({@link ChunkRecordSerializer}), so no Kryo is
 * involved. Records are never mutated once emitted: object reuse is on in the job, and the cache
 * side output shares {@link #data} with the staging operator.
 *
 * <p>The bytes usually sit in a pooled direct buffer ({@link #buffer}): the reader that filled it
 * holds one reference and releases it once the record is emitted; a consumer that keeps the bytes
 * after its {@code processElement} returns (the asynchronous cache writer) takes a reference of its
 * own first.
 */
@TypeInfo(ChunkRecordSerializer.TypeInfoFactory.class)
public class ChunkRecord {
    /** The staging target (key): a value that Flink's key-group math maps to one slot. */
    public int target;

    /** The model this file belongs to (its manifest name). */
    public String model;

    /** Number of files the model has (1, or its shard count). */
    public int modelFiles;

    /** Bytes of all of the model's files (0 when unknown): the model's progress total. */
    public long modelBytes;

    /** The file's URI. */
    public String file;

    /** The file's size in bytes, as pinned when its header was read. */
    public long fileSize;

    /** The file's pinned version token (ETag, generation, mtime), or null. */
    public String etag;

    /** End of the header: 8 + N, the absolute offset where the data section starts. */
    public long headerEnd;

    /** Absolute offset of {@link #data}'s first byte in the file. */
    public long offset;

    /**
     * The bytes, from position 0 to the limit; null for a failure record. Read it through {@link
     * #bytes()} (a view) so that the position of this buffer never moves.
     */
    public ByteBuffer data;

    /**
     * The pooled buffer behind {@link #data}, or null when the bytes are not pooled (a heap array).
     * Never serialized: a record that crosses a network exchange gets a buffer of the receiving
     * JVM.
     */
    public transient ChunkBuffer buffer;

    /** True when the bytes were read from this host's verified local cache. */
    public boolean cacheHit;

    /**
     * On the first record of each split read from a cached copy whose entry records per-tensor
     * checksums: the CRC-32C of the file's header bytes {@code [0, headerEnd)}, which staging
     * checks the copy's header against. Null otherwise.
     */
    public Integer expectedHeaderCrc;

    /**
     * With {@link #expectedHeaderCrc}: every tensor's CRC-32C in data-offset order, from the cache
     * entry ({@code io.warmstage.cache.CacheEntry#tensorCrc32c}). Staging checks each tensor of the
     * file against it as the tensor completes; a mismatch means the cached copy is corrupt.
     */
    public int[] expectedCrcs;

    /** True when this target writes the file into its host's cache (one writer per host). */
    public boolean cacheOwner;

    /**
     * On records of the header split of a shard: tensors the sharded index assigns to another
     * shard, which staging does not report. Null otherwise.
     */
    public String[] skipTensors;

    /**
     * True on a control record that tells the target to release {@link #model}'s device memory (the
     * model left a refreshing job's manifest); it carries no bytes and no file.
     */
    public boolean release;

    /** Non-null when the file failed (header invalid, read failed): the one-line reason. */
    public String error;

    /**
     * In host-level fan-out, on a record sent to a host's lead slot: the keys of the host's targets
     * (the lead's included) that the host's relay hands a copy of the record to, each with its own
     * {@link #target} and no relay targets. Null or empty on a record for {@link #target} alone.
     * Never mutated once set (records share it).
     */
    public int[] relayTargets;

    /**
     * True on a record read from a network exchange into a pooled buffer ({@link
     * ChunkRecordSerializer}): no reader holds that reference, so the operator that consumes the
     * record gives it back once done ({@link #releaseReceived()}). Not serialized, not copied.
     */
    public transient boolean received;

    public ChunkRecord() {}

    /**
     * A shallow copy: the same fields, the same {@link #data} bytes (never copied) and the same
     * {@link #buffer} (no reference taken).
     */
    public ChunkRecord copy() {
        ChunkRecord c = new ChunkRecord();
        c.target = target;
        c.model = model;
        c.modelFiles = modelFiles;
        c.modelBytes = modelBytes;
        c.file = file;
        c.fileSize = fileSize;
        c.etag = etag;
        c.headerEnd = headerEnd;
        c.offset = offset;
        c.data = data;
        c.buffer = buffer;
        c.cacheHit = cacheHit;
        c.expectedHeaderCrc = expectedHeaderCrc;
        c.expectedCrcs = expectedCrcs;
        c.cacheOwner = cacheOwner;
        c.skipTensors = skipTensors;
        c.release = release;
        c.error = error;
        c.relayTargets = relayTargets;
        return c;
    }

    /** Number of data bytes, 0 for a failure record. */
    public int length() {
        return data == null ? 0 : data.limit();
    }

    /** A read view of the bytes (position 0, limit {@link #length()}); null for a failure. */
    public ByteBuffer bytes() {
        return data == null ? null : data.duplicate().position(0);
    }

    /** Wraps heap bytes as the record's data (not pooled). */
    public ChunkRecord withBytes(byte[] bytes) {
        this.data = ByteBuffer.wrap(bytes);
        this.buffer = null;
        return this;
    }

    /** Gives back this record's reference to its pooled buffer, if any. */
    public void releaseBuffer() {
        if (buffer != null) {
            buffer.release();
        }
    }

    /** Gives back the reference a network exchange's deserializer took, if it took one. */
    public void releaseReceived() {
        if (received) {
            received = false;
            releaseBuffer();
        }
    }

    /** True if a relay hands this record to the targets in {@link #relayTargets}. */
    public boolean needsRelay() {
        return relayTargets != null && relayTargets.length > 0;
    }

    /** True if this record reports a failure of its file rather than carrying bytes. */
    public boolean isFailure() {
        return error != null;
    }

    @Override
    public String toString() {
        return isFailure()
                ? "ChunkRecord{" + file + " failed: " + error + "}"
                : "ChunkRecord{" + file + " @" + offset + " +" + length() + " -> " + target + "}";
    }
}
