package io.warmstage.device;

import static jcuda.driver.JCudaDriver.CU_MEMHOSTREGISTER_PORTABLE;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemHostRegister;
import static jcuda.driver.JCudaDriver.cuMemHostUnregister;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.nio.ByteBuffer;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/**
 * {@link CopyEngine} over the CUDA Driver API (JCuda 12.0.0, exceptions enabled): pinned slots from
 * {@code cuMemHostAlloc}, {@code cuMemcpyHtoDAsync} on one stream of the device's primary context,
 * one {@code CUevent} per slot, {@code cuMemcpyDtoH} for reads.
 */
final class CudaCopyEngine implements CopyEngine<CUdeviceptr> {
    private final String device;
    private final CUcontext context;
    private final CUstream stream = new CUstream();
    private final Pointer[] pinned;
    private final CUevent[] events;
    private boolean streamCreated;
    private boolean closed;

    /** Creates the stream; pinned slots and events come with {@link #allocatePinned}. */
    CudaCopyEngine(String device, CUcontext context, int slotCount) throws DeviceException {
        this.device = device;
        this.context = context;
        this.pinned = new Pointer[slotCount];
        this.events = new CUevent[slotCount];
        run("cuStreamCreate", () -> cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING));
        streamCreated = true;
    }

    @Override
    public ByteBuffer allocatePinned(int slot, int bytes) throws DeviceException {
        Pointer p = new Pointer();
        run("cuMemHostAlloc(" + bytes + ")", () -> cuMemHostAlloc(p, bytes, 0));
        pinned[slot] = p;
        CUevent e = new CUevent();
        run("cuEventCreate", () -> cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING));
        events[slot] = e;
        return p.getByteBuffer(0, bytes);
    }

    @Override
    public void copyAsync(int slot, CUdeviceptr target, long deviceOffset, int bytes)
            throws DeviceException {
        run(
                "cuMemcpyHtoDAsync",
                () ->
                        cuMemcpyHtoDAsync(
                                target.withByteOffset(deviceOffset), pinned[slot], bytes, stream));
    }

    /**
     * {@code cuMemHostRegister(PORTABLE)} of the buffer's whole capacity; the undo is {@code
     * cuMemHostUnregister} in this engine's context (ignored when that context is gone: its
     * registrations went with it). Memory registered already counts as pinned.
     */
    @Override
    public io.warmstage.memory.ChunkBuffer.Pin pin(ByteBuffer memory) throws DeviceException {
        Pointer p = Pointer.to(memory.duplicate().clear());
        long bytes = memory.capacity();
        try {
            cuCtxSetCurrent(context);
            cuMemHostRegister(p, bytes, CU_MEMHOSTREGISTER_PORTABLE);
        } catch (CudaException e) {
            if (!String.valueOf(e.getMessage())
                    .contains("CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED")) {
                throw CudaErrors.of(
                        device + ": cuMemHostRegister(" + bytes + ")", e.getMessage(), e);
            }
        }
        return () ->
                quietly(
                        () -> {
                            cuCtxSetCurrent(context);
                            return cuMemHostUnregister(p);
                        });
    }

    @Override
    public void copyAsyncFrom(ByteBuffer src, CUdeviceptr target, long deviceOffset)
            throws DeviceException {
        int bytes = src.remaining();
        Pointer from = Pointer.to(src);
        run(
                "cuMemcpyHtoDAsync",
                () -> cuMemcpyHtoDAsync(target.withByteOffset(deviceOffset), from, bytes, stream));
    }

    @Override
    public void record(int slot) throws DeviceException {
        run("cuEventRecord", () -> cuEventRecord(events[slot], stream));
    }

    @Override
    public void waitFor(int slot) throws DeviceException {
        run("cuEventSynchronize", () -> cuEventSynchronize(events[slot]));
    }

    @Override
    public void synchronize() throws DeviceException {
        run("cuStreamSynchronize", () -> cuStreamSynchronize(stream));
    }

    @Override
    public void copyToHost(int slot, CUdeviceptr source, long deviceOffset, int bytes)
            throws DeviceException {
        run(
                "cuMemcpyDtoH",
                () -> cuMemcpyDtoH(pinned[slot], source.withByteOffset(deviceOffset), bytes));
    }

    /** Frees events, pinned slots and the stream, ignoring errors (teardown). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        quietly(() -> cuCtxSetCurrent(context));
        for (int i = 0; i < pinned.length; i++) {
            CUevent e = events[i];
            Pointer p = pinned[i];
            if (e != null) {
                quietly(() -> cuEventDestroy(e));
            }
            if (p != null) {
                quietly(() -> cuMemFreeHost(p));
            }
        }
        if (streamCreated) {
            quietly(() -> cuStreamDestroy(stream));
        }
    }

    /** Makes the device's context current on the calling thread, then calls {@code call}. */
    private void run(String what, CudaCall call) throws DeviceException {
        try {
            cuCtxSetCurrent(context);
            call.run();
        } catch (CudaException e) {
            throw CudaErrors.of(device + ": " + what, e.getMessage(), e);
        }
    }

    private static void quietly(CudaCall call) {
        try {
            call.run();
        } catch (CudaException e) {
            // Teardown: nothing more to do with a failed free.
        }
    }

    /** One Driver API call; with exceptions enabled a non-zero result throws. */
    @FunctionalInterface
    interface CudaCall {
        int run();
    }
}
