package io.warmstage.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code cpu} device: off-heap host memory in direct {@link java.nio.ByteBuffer} segments of at
 * most {@link #DEFAULT_SEGMENT_BYTES} bytes each, so one buffer may exceed 2 GiB.
 *
 * <p>Thread-safe for allocation and close; each buffer belongs to one owner. Direct memory is
 * bounded by the JVM's {@code -XX:MaxDirectMemorySize}.
 */
public final class HostDevice implements Device {
    /** Default segment size: 64 MiB. */
    public static final int DEFAULT_SEGMENT_BYTES = 64 << 20;

    private final SegmentPool pool;
    private final Set<HostBuffer> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong allocatedBytes = new AtomicLong();
    private volatile boolean closed;

    /** A cpu device with 64 MiB segments. */
    public HostDevice() {
        this(DEFAULT_SEGMENT_BYTES);
    }

    /**
     * A cpu device with the given segment size (tests use small ones to cross segments).
     *
     * @param segmentBytes bytes per direct buffer segment, 1 or more
     */
    public HostDevice(int segmentBytes) {
        if (segmentBytes <= 0) {
            throw new IllegalArgumentException("segment size must be positive: " + segmentBytes);
        }
        this.pool = new SegmentPool(segmentBytes);
    }

    @Override
    public String name() {
        return "cpu";
    }

    /**
     * Allocates {@code bytes} of off-heap memory, contents undefined until written; 0 is valid.
     * Freed segments are reused by later allocations (see {@link SegmentPool}).
     *
     * @throws DeviceException when direct memory is exhausted (message gives the size asked for)
     * @throws IllegalStateException after {@link #close()}
     */
    @Override
    public HostBuffer allocate(long bytes) throws DeviceException {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation size " + bytes);
        }
        if (closed) {
            throw new IllegalStateException("cpu device is closed");
        }
        HostBuffer buffer = new HostBuffer(bytes, pool, this::released);
        open.add(buffer);
        allocatedBytes.addAndGet(bytes);
        return buffer;
    }

    /** Bytes held by buffers allocated on this device and not yet closed (for metrics). */
    public long allocatedBytes() {
        return allocatedBytes.get();
    }

    /** Number of buffers not yet closed. */
    public int openBuffers() {
        return open.size();
    }

    /** Frees every buffer still open. Idempotent. */
    @Override
    public void close() {
        closed = true;
        List<HostBuffer> buffers = new ArrayList<>(open);
        buffers.forEach(HostBuffer::close);
        pool.clear();
    }

    /** Segments kept for reuse (for tests and metrics). */
    public int pooledSegments() {
        return pool.pooled();
    }

    private void released(HostBuffer buffer) {
        if (open.remove(buffer)) {
            allocatedBytes.addAndGet(-buffer.size());
        }
    }
}
