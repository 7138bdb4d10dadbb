package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Direct memory segments of one size, kept after a buffer is freed and handed to the next one: the
 * next file's bytes land in pages that are already mapped, so staging a run of shards pays for
 * zeroing and page faults once, not per file. The pool never holds more than the device's peak use.
 * Thread-safe.
 */
final class SegmentPool {
    private final int segmentBytes;
    private final Deque<ByteBuffer> free = new ArrayDeque<>();

    /**
     * @param segmentBytes size of every pooled segment, in bytes
     */
    SegmentPool(int segmentBytes) {
        this.segmentBytes = segmentBytes;
    }

    int segmentBytes() {
        return segmentBytes;
    }

    /**
     * A segment of {@link #segmentBytes()} bytes: a pooled one (contents undefined) or a new one.
     *
     * @throws OutOfMemoryError when direct memory is exhausted
     */
    ByteBuffer take() {
        synchronized (free) {
            ByteBuffer b = free.poll();
            if (b != null) {
                return b.clear();
            }
        }
        return ByteBuffer.allocateDirect(segmentBytes);
    }

    /** Takes back full-size segments for reuse; frees any other. */
    void giveBack(List<ByteBuffer> segments) {
        for (ByteBuffer b : segments) {
            if (b.capacity() == segmentBytes) {
                synchronized (free) {
                    free.push(b);
                }
            } else {
                DirectMemory.free(b);
            }
        }
    }

    /** Frees every pooled segment. */
    void clear() {
        synchronized (free) {
            free.forEach(DirectMemory::free);
            free.clear();
        }
    }

    /** Segments held for reuse. */
    int pooled() {
        synchronized (free) {
            return free.size();
        }
    }
}
