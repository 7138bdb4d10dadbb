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
 * The GPU check's baseline: one pinned host buffer and one device buffer of the same size, and a
 * single synchronous {@code cuMemcpyHtoD} between them, timed. What the staging ring's H2D copies
 * are measured against. Not thread-safe; close it to free both buffers.
 */
public final class PlainPinnedCopy implements AutoCloseable {
    private final CudaDevice device;
    private final long bytes;
    private final Pointer host = new Pointer();
    private final CUdeviceptr target = new CUdeviceptr();
    private boolean hostAllocated;
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
            cuMemHostAlloc(host, bytes, 0);
            hostAllocated = true;
            cuMemAlloc(target, bytes);
            targetAllocated = true;
        } catch (CudaException e) {
            close();
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
        Ranges.check(offset, src.remaining(), bytes);
        host.getByteBuffer(offset, src.remaining()).put(src);
    }

    /**
     * Copies the whole pinned buffer to the device with one {@code cuMemcpyHtoD} (synchronous for
     * pinned memory) followed by {@code cuCtxSynchronize}.
     *
     * @return wall time of the copy in nanoseconds
     * @throws DeviceException if the driver reports an error
     */
    public long copyNanos() throws DeviceException {
        checkOpen();
        try {
            cuCtxSetCurrent(device.context());
            long start = System.nanoTime();
            cuMemcpyHtoD(target, host, bytes);
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
        try {
            if (hostAllocated) {
                cuMemFreeHost(host);
            }
        } catch (CudaException e) {
            // Teardown.
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("plain copy buffers are closed");
        }
    }
}
