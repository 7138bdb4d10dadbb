package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.function.Consumer;
import jcuda.driver.CUdeviceptr;

/**
 * A {@code cuMemAlloc} allocation on one GPU. Copies go through the device's {@link PinnedRing}:
 * {@link #copyFromHost} returns once the H2D copy is enqueued. Not thread-safe.
 */
public final class CudaBuffer implements DeviceBuffer {
    private final String device;
    private final CUdeviceptr pointer;
    private final long size;
    private final PinnedRing<CUdeviceptr> ring;
    private final Consumer<CudaBuffer> onClose;
    private boolean closed;

    CudaBuffer(
            String device,
            CUdeviceptr pointer,
            long size,
            PinnedRing<CUdeviceptr> ring,
            Consumer<CudaBuffer> onClose) {
        this.device = device;
        this.pointer = pointer;
        this.size = size;
        this.ring = ring;
        this.onClose = onClose;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
        check(offset, src.remaining());
        ring.copyFromHost(pointer, offset, src);
    }

    @Override
    public void synchronize() throws DeviceException {
        check(0, 0);
        ring.synchronize();
    }

    @Override
    public void copyToHost(long offset, ByteBuffer dst) throws DeviceException {
        check(offset, dst.remaining());
        ring.copyToHost(pointer, offset, dst);
    }

    @Override
    public int crc32c(long offset, long length) throws DeviceException {
        check(offset, length);
        return ring.crc32c(pointer, offset, length);
    }

    /** Frees the device memory (after copies in flight). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            ring.synchronize();
        } catch (DeviceException | RuntimeException e) {
            // Freeing anyway.
        }
        onClose.accept(this);
    }

    CUdeviceptr pointer() {
        return pointer;
    }

    private void check(long offset, long length) {
        if (closed) {
            throw new IllegalStateException(device + " buffer of " + size + " bytes is closed");
        }
        Ranges.check(offset, length, size);
    }
}
