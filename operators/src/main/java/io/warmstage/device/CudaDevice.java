package io.warmstage.device;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceGetUuid;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuIpcGetMemHandle;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;

import java.nio.charset.StandardCharsets;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUipcMemHandle;
import jcuda.driver.CUuuid;
import jcuda.driver.JCudaDriver;

/**
 * One GPU ({@code cuda:N}) through the CUDA Driver API (JCuda 12.0.0): the device's primary
 * context, {@code cuMemAlloc} buffers, and one {@link PinnedRing} of pinned host slots shared by
 * this device's buffers for H2D copies on one stream (see {@link RingDevice} for the life cycle,
 * thread safety and sticky errors). One owner (a staging subtask); open it with {@link
 * Devices#open}, which checks that CUDA is available first.
 */
public final class CudaDevice implements Device, Releasable {
    /** Default ring: 4 pinned slots. */
    public static final int DEFAULT_SLOTS = 4;

    /** Default slot size: 8 MiB. */
    public static final int DEFAULT_SLOT_BYTES = 8 << 20;

    private final String name;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final RingDevice<CUdeviceptr> core;

    /**
     * Retains GPU {@code ordinal}'s primary context and allocates the pinned ring.
     *
     * @param slots pinned slots in the ring
     * @param slotBytes bytes per slot
     * @throws DeviceException if the GPU, context, stream or pinned memory is unavailable
     */
    CudaDevice(int ordinal, int slots, int slotBytes) throws DeviceException {
        this.name = "cuda:" + ordinal;
        // Without this every call returns an error code that nobody checks.
        JCudaDriver.setExceptionsEnabled(true);
        try {
            cuDeviceGet(device, ordinal);
            cuDevicePrimaryCtxRetain(context, device);
        } catch (CudaException e) {
            throw CudaErrors.of(
                    name + ": cannot open: cuDevicePrimaryCtxRetain", e.getMessage(), e);
        }
        PinnedRing<CUdeviceptr> ring;
        try {
            ring = new PinnedRing<>(new CudaCopyEngine(name, context, slots), slots, slotBytes);
        } catch (DeviceException | RuntimeException e) {
            releaseContext();
            throw e;
        }
        core = new RingDevice<>(name, new CudaMemory(), ring);
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Allocates {@code bytes} of device memory after checking {@code cuMemGetInfo}; 0 is valid and
     * allocates nothing.
     *
     * @throws DeviceException if the GPU has less free memory than {@code bytes} (both sizes in
     *     bytes and GiB) or {@code cuMemAlloc} fails; a {@link DeviceLostException} after a sticky
     *     error
     */
    @Override
    public CudaBuffer<CUdeviceptr> allocate(long bytes) throws DeviceException {
        return core.allocate(bytes);
    }

    /** Frees open buffers, the ring (events, stream, pinned memory), then the context. */
    @Override
    public void close() {
        core.close();
    }

    /**
     * Closes the device (ring, stream, events, context) once its last buffer is freed; now if none
     * is open. For a slot that keeps its tensors resident after its job.
     */
    @Override
    public void closeWhenReleased() {
        core.closeWhenReleased();
    }

    /**
     * The GPU's product name as the driver reports it ({@code cuDeviceGetName}), e.g. {@code NVIDIA
     * H200}.
     *
     * @throws DeviceException if the driver call fails
     */
    public String gpuName() throws DeviceException {
        byte[] buf = new byte[256];
        try {
            cuDeviceGetName(buf, buf.length, device);
        } catch (CudaException e) {
            throw CudaErrors.of(name + ": cuDeviceGetName", e.getMessage(), e);
        }
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    /** {@code cuDeviceGetUuid}, formatted as {@link #formatUuid}; empty if the call fails. */
    @Override
    public java.util.Optional<String> gpuUuid() {
        CUuuid uuid = new CUuuid();
        try {
            cuDeviceGetUuid(uuid, device);
        } catch (CudaException e) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(formatUuid(uuid.bytes));
    }

    /**
     * A GPU UUID's 16 bytes as {@code nvidia-smi -L} prints them: {@code GPU-} then 8-4-4-4-12
     * lower-case hex digits.
     */
    static String formatUuid(byte[] bytes) {
        String hex = java.util.HexFormat.of().formatHex(bytes);
        return "GPU-"
                + hex.substring(0, 8)
                + "-"
                + hex.substring(8, 12)
                + "-"
                + hex.substring(12, 16)
                + "-"
                + hex.substring(16, 20)
                + "-"
                + hex.substring(20);
    }

    /**
     * Free and total memory of this GPU in bytes ({@code cuMemGetInfo} in its primary context).
     *
     * @throws DeviceException if the driver call fails
     */
    public Memory memory() throws DeviceException {
        checkOpen();
        try {
            cuCtxSetCurrent(context);
            long[] free = new long[1];
            long[] total = new long[1];
            cuMemGetInfo(free, total);
            return new Memory(free[0], total[0]);
        } catch (CudaException e) {
            throw CudaErrors.of(name + ": cuMemGetInfo", e.getMessage(), e);
        }
    }

    /** The primary context, for {@link PlainPinnedCopy}. */
    CUcontext context() {
        return context;
    }

    private void releaseContext() {
        try {
            cuDevicePrimaryCtxRelease(device);
        } catch (CudaException e) {
            // Teardown.
        }
    }

    private void checkOpen() {
        if (core != null && core.isClosed()) {
            throw new IllegalStateException(name + " is closed");
        }
    }

    /**
     * Device memory as {@code cuMemGetInfo} reports it.
     *
     * @param freeBytes bytes free now
     * @param totalBytes bytes on the GPU
     */
    public record Memory(long freeBytes, long totalBytes) {}

    /** Device memory through {@code cuMemAlloc}/{@code cuMemFree} in the primary context. */
    private final class CudaMemory implements RingDevice.Memory<CUdeviceptr> {
        @Override
        public CUdeviceptr allocate(long bytes) throws DeviceException {
            Memory m = memory();
            if (m.freeBytes() < bytes) {
                throw new DeviceException(
                        name
                                + ": cannot allocate "
                                + Sizes.describe(bytes)
                                + ": only "
                                + Sizes.describe(m.freeBytes())
                                + " free of "
                                + Sizes.describe(m.totalBytes()));
            }
            try {
                cuCtxSetCurrent(context);
                CUdeviceptr ptr = new CUdeviceptr();
                cuMemAlloc(ptr, bytes);
                return ptr;
            } catch (CudaException e) {
                throw CudaErrors.of(
                        name + ": cuMemAlloc of " + Sizes.describe(bytes), e.getMessage(), e);
            }
        }

        /** {@code cuIpcGetMemHandle} of a {@code cuMemAlloc} allocation's base. */
        @Override
        public java.util.Optional<byte[]> ipcHandle(CUdeviceptr pointer, String buffer)
                throws DeviceException {
            CUipcMemHandle handle = new CUipcMemHandle();
            try {
                cuCtxSetCurrent(context);
                cuIpcGetMemHandle(handle, pointer);
            } catch (CudaException e) {
                throw CudaErrors.of(buffer + ": cuIpcGetMemHandle", e.getMessage(), e);
            }
            return java.util.Optional.of(IpcHandles.bytes(handle, buffer));
        }

        @Override
        public void free(CUdeviceptr pointer) {
            try {
                cuCtxSetCurrent(context);
                cuMemFree(pointer);
            } catch (CudaException e) {
                // Teardown: the context release reclaims it.
            }
        }

        @Override
        public void close() {
            releaseContext();
        }
    }
}
