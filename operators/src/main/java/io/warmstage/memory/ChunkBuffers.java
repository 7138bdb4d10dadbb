package io.warmstage.memory;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pool of direct buffers of one size (the record size), reused without zeroing: a chunk is read
 * from storage straight into one, staged and cached from the same memory, and the buffer goes back
 * here for the next chunk, so fresh pages are faulted in and cleared once per JVM, not once per
 * chunk (DESIGN.md, "The byte path").
 *
 * <p>{@link #take()} never blocks: how many bytes are in flight is bounded upstream (the source's
 * buffer pool admits a split only when its bytes fit; the cache writer's queue is bounded). The
 * pool keeps at most {@code maxIdleBytes} of idle buffers and frees any beyond that. Thread-safe.
 */
public final class ChunkBuffers {
    private static final Map<Integer, ChunkBuffers> SHARED = new ConcurrentHashMap<>();
    private static final sun.misc.Unsafe UNSAFE = loadUnsafe();

    private final int bufferBytes;
    private final int maxIdle;
    private final Deque<ChunkBuffer> idle = new ArrayDeque<>();
    private final AtomicLong allocated = new AtomicLong();

    /**
     * @param bufferBytes bytes per buffer, 1 or more
     * @param maxIdleBytes idle bytes kept for reuse; buffers given back beyond it are freed
     */
    public ChunkBuffers(int bufferBytes, long maxIdleBytes) {
        if (bufferBytes <= 0) {
            throw new IllegalArgumentException("buffer size must be positive: " + bufferBytes);
        }
        this.bufferBytes = bufferBytes;
        this.maxIdle = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxIdleBytes / bufferBytes));
    }

    /**
     * The JVM's pool for buffers of {@code bufferBytes} (one per record size), keeping up to 512
     * MiB idle: shared by every reader, staging slot and deserializer of a TaskManager.
     */
    public static ChunkBuffers shared(int bufferBytes) {
        return SHARED.computeIfAbsent(bufferBytes, b -> new ChunkBuffers(b, 512L << 20));
    }

    /** Bytes per buffer. */
    public int bufferBytes() {
        return bufferBytes;
    }

    /**
     * A buffer with one reference: an idle one (contents undefined) or a new one.
     *
     * @throws OutOfMemoryError when direct memory is exhausted
     */
    public ChunkBuffer take() {
        synchronized (idle) {
            ChunkBuffer b = idle.poll();
            if (b != null) {
                return b.taken();
            }
        }
        allocated.incrementAndGet();
        return new ChunkBuffer(ByteBuffer.allocateDirect(bufferBytes), this).taken();
    }

    /** Buffers idle in the pool now. */
    public int idle() {
        synchronized (idle) {
            return idle.size();
        }
    }

    /** Buffers this pool has allocated in all (a measure of reuse). */
    public long allocated() {
        return allocated.get();
    }

    void giveBack(ChunkBuffer b) {
        synchronized (idle) {
            if (idle.size() < maxIdle) {
                idle.push(b);
                return;
            }
        }
        allocated.decrementAndGet();
        b.unpin(); // a device's page-locking ends before the memory is freed
        if (UNSAFE != null) {
            UNSAFE.invokeCleaner(b.raw());
        }
    }

    private static sun.misc.Unsafe loadUnsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
