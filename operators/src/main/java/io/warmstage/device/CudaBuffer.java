package io.warmstage.device;

import java.nio.ByteBuffer;

/**
 * One device allocation of a {@link RingDevice} (a {@code cuMemAlloc} allocation on a GPU). Copies
 * go through the device's {@link PinnedRing}: {@link #copyFromHost} returns once the H2D copy is
 * enqueued.
 *
 * <p>Thread-safe: every call holds this buffer's lock, so {@link #close} waits for a copy another
 * thread is issuing into this buffer, and no copy starts after it; the ring's own lock orders
 * copies into the device's other buffers. A {@link DeviceLostException} marks the whole device
 * lost: later calls on any of its buffers fail with it at once.
 *
 * @param <P> the device's allocation handle ({@code CUdeviceptr} for CUDA)
 */
public final class CudaBuffer<P> implements DeviceBuffer {
    private final RingDevice<P> device;
    private final P pointer;
    private final long size;
    private final PinnedRing<P> ring;
    private volatile boolean closed;

    CudaBuffer(RingDevice<P> device, P pointer, long size, PinnedRing<P> ring) {
        this.device = device;
        this.pointer = pointer;
        this.size = size;
        this.ring = ring;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public synchronized void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
        check(offset, src.remaining());
        try {
            ring.copyFromHost(pointer, offset, src);
        } catch (DeviceLostException e) {
            throw device.lost(e);
        }
    }

    @Override
    public synchronized void copyFromHost(
            long offset, ByteBuffer src, io.warmstage.memory.ChunkBuffer owner)
            throws DeviceException {
        check(offset, src.remaining());
        try {
            ring.copyFromPooled(pointer, offset, src, owner);
        } catch (DeviceLostException e) {
            throw device.lost(e);
        }
    }

    @Override
    public synchronized void synchronize() throws DeviceException {
        check(0, 0);
        try {
            ring.synchronize();
        } catch (DeviceLostException e) {
            throw device.lost(e);
        }
    }

    @Override
    public synchronized void copyToHost(long offset, ByteBuffer dst) throws DeviceException {
        check(offset, dst.remaining());
        try {
            ring.copyToHost(pointer, offset, dst);
        } catch (DeviceLostException e) {
            throw device.lost(e);
        }
    }

    @Override
    public synchronized int crc32c(long offset, long length) throws DeviceException {
        check(offset, length);
        try {
            return ring.crc32c(pointer, offset, length);
        } catch (DeviceLostException e) {
            throw device.lost(e);
        }
    }

    /**
     * The {@code CUipcMemHandle} of this buffer's {@code cuMemAlloc} allocation (64 bytes): another
     * process opens it with {@code cuIpcOpenMemHandle} and finds byte {@code offset} of this buffer
     * at the returned base {@code + offset}. Valid until this buffer is closed. Empty for a buffer
     * of 0 bytes (nothing is allocated) and on a device that exports no handles.
     *
     * @throws DeviceException naming this buffer if the driver cannot export the handle or JCuda's
     *     handle bytes cannot be read
     */
    @Override
    public synchronized java.util.Optional<byte[]> ipcHandle() throws DeviceException {
        check(0, 0);
        if (pointer == null) {
            return java.util.Optional.empty();
        }
        return device.ipcHandle(pointer, device.name() + " buffer of " + Sizes.describe(size));
    }

    /**
     * Waits for the copies in flight, then frees the device memory. Under this buffer's lock, so a
     * copy another thread is issuing into it finishes first and no copy starts after. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                ring.synchronize();
            } catch (DeviceException | RuntimeException e) {
                // Freeing anyway: a failed stream has nothing in flight that could still run.
            }
        }
        device.free(this);
    }

    /** Whether {@link #close} ran. */
    public boolean isClosed() {
        return closed;
    }

    P pointer() {
        return pointer;
    }

    private void check(long offset, long length) throws DeviceLostException {
        if (closed) {
            throw new IllegalStateException(
                    device.name() + " buffer of " + size + " bytes is closed");
        }
        device.checkNotLost();
        Ranges.check(offset, length, size);
    }
}
