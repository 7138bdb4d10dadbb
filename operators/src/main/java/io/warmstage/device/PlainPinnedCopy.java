package io.warmstage.device;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import java.nio.ByteBuffer;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * The GPU check's baseline: pinned host memory and one device buffer of the same size, and
 * synchronous {@code cuMemcpyHtoD} copies between them, timed. What the staging ring's H2D copies
 * are measured against. The host side is {@link PinnedBlocks} of at most 1 GiB each (a pinned block
 * over 2 GiB cannot be viewed as one {@code ByteBuffer}), so the copy is one {@code cuMemcpyHtoD}
 * per GiB. Not thread-safe; close it to free both.
 */
public final class PlainPinnedCopy implements AutoCloseable {
    private final CudaDevice device;
    private final long bytes;
    private final CUdeviceptr target = new CUdeviceptr();
    private PinnedBlocks<Pointer> host;
    private boolean targetAllocated;
    private boolean closed;

    /**
     * Allocates {@code bytes} of pinned host memory ({@code cuMemHostAlloc}) and of device memory
     * ({@code cuMemAlloc}) on {@code device}.
     *
     * @param bytes 1 or more
     * @throws DeviceException if either allocation fails (whatever was allocated is freed)
     */
    public PlainPinnedCopy(CudaDevice device, long bytes) throws DeviceException {
        if (bytes <= 0) {
            throw new IllegalArgumentException("plain copy needs 1 byte or more, not " + bytes);
        }
        this.device = device;
        this.bytes = bytes;
        try {
            cuCtxSetCurrent(device.context());
            host = new PinnedBlocks<>(new CudaPinned(device), bytes, PinnedBlocks.MAX_PIECE);
            cuMemAlloc(target, bytes);
            targetAllocated = true;
        } catch (DeviceException | RuntimeException e) {
            close();
            if (e instanceof DeviceException d) {
                throw d;
            }
            throw new DeviceException(
                    device.name() + ": baseline allocation of " + Sizes.describe(bytes) + ": " + e,
                    e);
        }
    }

    /** Size in bytes of both buffers. */
    public long size() {
        return bytes;
    }

    /**
     * Copies {@code src.remaining()} bytes into the pinned host buffer at {@code offset}; host
     * memory only, nothing on the device. Advances {@code src} to its limit.
     *
     * @throws IndexOutOfBoundsException if the range lies outside the buffer
     */
    public void fill(long offset, ByteBuffer src) {
        checkOpen();
        host.fill(offset, src);
    }

    /**
     * Copies the whole pinned memory to the device with one {@code cuMemcpyHtoD} per pinned piece
     * (synchronous for pinned memory) followed by {@code cuCtxSynchronize}.
     *
     * @return wall time of the copy in nanoseconds
     * @throws DeviceException if the driver reports an error
     */
    public long copyNanos() throws DeviceException {
        checkOpen();
        try {
            cuCtxSetCurrent(device.context());
            long start = System.nanoTime();
            for (int i = 0; i < host.pieceCount(); i++) {
                cuMemcpyHtoD(
                        target.withByteOffset(host.pieceOffset(i)),
                        host.piece(i),
                        host.pieceSize(i));
            }
            cuCtxSynchronize();
            return System.nanoTime() - start;
        } catch (CudaException e) {
            throw new DeviceException(device.name() + ": baseline cuMemcpyHtoD: " + e, e);
        }
    }

    /** Frees the device and the pinned buffer, ignoring errors (teardown). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            cuCtxSetCurrent(device.context());
            if (targetAllocated) {
                cuMemFree(target);
            }
        } catch (CudaException e) {
            // Teardown: the context release reclaims it.
        }
        if (host != null) {
            host.close();
        }
    }

    /** Pinned pieces from {@code cuMemHostAlloc} in the device's context. */
    private record CudaPinned(CudaDevice device) implements PinnedBlocks.Allocator<Pointer> {
        @Override
        public Pointer allocate(int bytes) throws DeviceException {
            Pointer p = new Pointer();
            try {
                cuCtxSetCurrent(device.context());
                cuMemHostAlloc(p, bytes, 0);
                return p;
            } catch (CudaException e) {
                throw CudaErrors.of(
                        device.name() + ": cuMemHostAlloc of " + Sizes.describe(bytes),
                        e.getMessage(),
                        e);
            }
        }

        @Override
        public ByteBuffer view(Pointer piece, int offset, int length) {
            return piece.getByteBuffer(offset, length);
        }

        @Override
        public void free(Pointer piece) {
            try {
                cuMemFreeHost(piece);
            } catch (CudaException e) {
                // Teardown.
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("plain copy buffers are closed");
        }
    }
}
