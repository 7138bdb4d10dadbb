package io.warmstage.memory;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A lease on one pooled direct buffer holding one chunk's bytes, counted by reference: the reader
 * that fills it holds the first reference, every consumer that keeps the bytes beyond the call that
 * handed them over (the asynchronous cache writer) takes its own with {@link #retain()}, and the
 * buffer goes back to its pool when the last reference is released. Contents are undefined when
 * taken (pooled buffers are never zeroed again).
 *
 * <p>Thread-safe for {@link #retain()} and {@link #release()}; the bytes are written by one thread
 * before the buffer is handed on and only read afterwards.
 */
public final class ChunkBuffer {
    private final ByteBuffer memory;
    private final ChunkBuffers pool;
    private final AtomicInteger refs = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicReference<Pin> pin =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * A device's page-locking of a buffer's memory (for CUDA, {@code cuMemHostRegister}), so that
     * an asynchronous host-to-device copy reads it directly instead of through a pinned staging
     * slot. Undone by the pool before it frees the memory.
     */
    public interface Pin {
        /** Makes the memory pageable again, ignoring errors (the device may be gone). */
        void unpin();
    }

    ChunkBuffer(ByteBuffer memory, ChunkBuffers pool) {
        this.memory = memory;
        this.pool = pool;
    }

    /** Marks the buffer taken with one reference (by the pool). */
    ChunkBuffer taken() {
        refs.set(1);
        memory.clear();
        return this;
    }

    /**
     * The whole buffer for filling: position 0, limit {@link #capacity()}. The caller flips or
     * slices it to the bytes it wrote.
     */
    public ByteBuffer memory() {
        return memory.duplicate().clear();
    }

    /** Capacity in bytes. */
    public int capacity() {
        return memory.capacity();
    }

    /**
     * Takes one more reference.
     *
     * @throws IllegalStateException if the buffer was already released to its pool
     */
    public ChunkBuffer retain() {
        int before = refs.getAndUpdate(n -> n > 0 ? n + 1 : n);
        if (before <= 0) {
            throw new IllegalStateException("chunk buffer used after its release");
        }
        return this;
    }

    /**
     * Gives back one reference; the last one returns the buffer to its pool. A release beyond the
     * references taken is ignored.
     */
    public void release() {
        int after = refs.updateAndGet(n -> n > 0 ? n - 1 : n);
        if (after == 0 && refs.compareAndSet(0, -1)) {
            pool.giveBack(this);
        }
    }

    /** References held now: 0 once given back (for tests). */
    public int references() {
        return Math.max(0, refs.get());
    }

    /** The pin on this buffer's memory, or null when no device page-locked it. */
    public Pin pin() {
        return pin.get();
    }

    /**
     * Records that {@code p} page-locked this buffer's memory; false (and {@code p} not recorded)
     * if another pin already holds it. The memory stays pinned while the pool keeps the buffer.
     */
    public boolean pinnedBy(Pin p) {
        return pin.compareAndSet(null, p);
    }

    /** Undoes the pin, if any: before the memory is freed. */
    void unpin() {
        Pin p = pin.getAndSet(null);
        if (p != null) {
            p.unpin();
        }
    }

    ByteBuffer raw() {
        return memory;
    }
}
