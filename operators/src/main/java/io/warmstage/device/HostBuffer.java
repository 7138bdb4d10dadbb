package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * A {@link DeviceBuffer} in off-heap host memory: a list of direct segments of {@code segmentBytes}
 * each (taken from the device's {@link SegmentPool}), or one exact segment for a buffer under half
 * a segment. Contents are undefined until written. Ranges may cross segments; nothing is copied
 * through the heap. Not thread-safe.
 */
public final class HostBuffer implements DeviceBuffer {
    private final long size;
    private final int segmentBytes;
    private final Consumer<HostBuffer> onClose;
    private final SegmentPool pool;
    private List<ByteBuffer> segments;

    HostBuffer(long size, SegmentPool pool, Consumer<HostBuffer> onClose) throws DeviceException {
        this.size = size;
        this.pool = pool;
        this.segmentBytes = pool.segmentBytes();
        this.onClose = onClose;
        this.segments = allocateSegments(size, pool);
    }

    @Override
    public long size() {
        return size;
    }

    /** Copies synchronously; see {@link DeviceBuffer#copyFromHost}. */
    @Override
    public void copyFromHost(long offset, ByteBuffer src) {
        forEachPiece(
                offset,
                src.remaining(),
                piece -> {
                    int n = piece.remaining();
                    piece.put(src.slice(src.position(), n));
                    src.position(src.position() + n);
                });
    }

    /** Nothing to wait for: host copies are synchronous. */
    @Override
    public void synchronize() {
        checkOpen();
    }

    @Override
    public void copyToHost(long offset, ByteBuffer dst) {
        forEachPiece(offset, dst.remaining(), dst::put);
    }

    @Override
    public int crc32c(long offset, long length) {
        CRC32C crc = new CRC32C();
        forEachPiece(offset, length, crc::update);
        return (int) crc.getValue();
    }

    /** Frees the segments now. Idempotent. */
    @Override
    public void close() {
        List<ByteBuffer> toFree = segments;
        if (toFree == null) {
            return;
        }
        segments = null;
        pool.giveBack(toFree);
        onClose.accept(this);
    }

    /**
     * Calls {@code action} with a view of each segment piece of {@code [offset, offset + length)},
     * in order.
     */
    private void forEachPiece(long offset, long length, Consumer<ByteBuffer> action) {
        checkOpen();
        long end = Ranges.check(offset, length, size);
        long pos = offset;
        while (pos < end) {
            ByteBuffer segment = segments.get(Math.toIntExact(pos / segmentBytes)).duplicate();
            int start = (int) (pos % segmentBytes);
            int n = (int) Math.min(segment.capacity() - start, end - pos);
            segment.limit(start + n).position(start);
            action.accept(segment);
            pos += n;
        }
    }

    private void checkOpen() {
        if (segments == null) {
            throw new IllegalStateException("cpu buffer of " + size + " bytes is closed");
        }
    }

    private static List<ByteBuffer> allocateSegments(long size, SegmentPool pool)
            throws DeviceException {
        List<ByteBuffer> segments = new ArrayList<>();
        int segmentBytes = pool.segmentBytes();
        try {
            if (size > 0 && size < segmentBytes / 2) {
                segments.add(ByteBuffer.allocateDirect((int) size)); // small: exact, not pooled
                return segments;
            }
            for (long left = size; left > 0; left -= segmentBytes) {
                segments.add(pool.take());
            }
            return segments;
        } catch (OutOfMemoryError e) {
            pool.giveBack(segments);
            throw new DeviceException(
                    "cpu: cannot allocate "
                            + Sizes.describe(size)
                            + " of off-heap memory (raise -XX:MaxDirectMemorySize): "
                            + e.getMessage(),
                    e);
        }
    }
}
