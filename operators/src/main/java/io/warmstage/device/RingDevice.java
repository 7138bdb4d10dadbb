package io.warmstage.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The device-independent part of a GPU device: device allocations from a {@link Memory}, one {@link
 * PinnedRing} shared by every buffer, the open buffers, and the device's end of life. {@link
 * CudaDevice} builds one over the CUDA Driver API; tests build one over in-memory fakes.
 *
 * <p>Thread-safe. Life: {@link #close} frees every open buffer, the ring (pinned slots, events,
 * stream), then the memory's context. {@link #closeWhenReleased} defers that until the last open
 * buffer is freed (keep-resident staging). A {@link DeviceLostException} from any buffer marks the
 * device lost: allocations and buffer calls fail with it at once, and a deferred close happens now.
 *
 * @param <P> the allocation handle ({@code CUdeviceptr} for CUDA)
 */
final class RingDevice<P> implements Device, Releasable {

    /** Device memory and the context it lives in. */
    interface Memory<P> {
        /**
         * Allocates {@code bytes} (1 or more) of device memory.
         *
         * @throws DeviceException if the device has less free memory (the message gives both sizes)
         *     or the allocation fails
         */
        P allocate(long bytes) throws DeviceException;

        /** Frees one allocation, ignoring errors (teardown). */
        void free(P pointer);

        /**
         * The IPC handle of one allocation (its base), which another process of the host opens;
         * empty where the memory gives none.
         *
         * @param buffer the buffer, for error messages (e.g. {@code cuda:0 buffer of 12.0 MiB})
         * @throws DeviceException if the driver cannot export it
         */
        default java.util.Optional<byte[]> ipcHandle(P pointer, String buffer)
                throws DeviceException {
            return java.util.Optional.empty();
        }

        /** Releases the context, after everything else is freed. */
        void close();
    }

    private final String name;
    private final Memory<P> memory;
    private final PinnedRing<P> ring;
    private final Set<CudaBuffer<P>> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile boolean closeWhenReleased;
    private volatile DeviceLostException lost;

    RingDevice(String name, Memory<P> memory, PinnedRing<P> ring) {
        this.name = name;
        this.memory = memory;
        this.ring = ring;
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Allocates {@code bytes} of device memory; 0 is valid and allocates nothing.
     *
     * @throws DeviceLostException if the device is lost
     * @throws DeviceException if the memory cannot be allocated
     * @throws IllegalStateException after {@link #close} or {@link #closeWhenReleased}
     */
    @Override
    public CudaBuffer<P> allocate(long bytes) throws DeviceException {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation size " + bytes);
        }
        if (closed || closeWhenReleased) {
            throw new IllegalStateException(name + " is closed");
        }
        checkNotLost();
        P pointer;
        try {
            pointer = bytes == 0 ? null : memory.allocate(bytes);
        } catch (DeviceLostException e) {
            throw lost(e);
        }
        CudaBuffer<P> buffer = new CudaBuffer<>(this, pointer, bytes, ring);
        open.add(buffer);
        return buffer;
    }

    /** Frees open buffers, the ring (events, stream, pinned memory), then the context. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CudaBuffer<P>> buffers = new ArrayList<>(open);
        buffers.forEach(CudaBuffer::close);
        ring.close();
        memory.close();
    }

    /**
     * Closes this device once its last open buffer is freed, or now when none is open or the device
     * is lost. Allocations fail from now on.
     */
    @Override
    public void closeWhenReleased() {
        closeWhenReleased = true;
        if (open.isEmpty() || lost != null) {
            close();
        }
    }

    /** Whether the device is closed (its ring, stream and context released). */
    boolean isClosed() {
        return closed;
    }

    /** Buffers allocated and not yet freed. */
    int openBuffers() {
        return open.size();
    }

    /** Records that the device is lost (the first cause is kept) and returns the exception. */
    DeviceLostException lost(DeviceLostException e) {
        synchronized (this) {
            if (lost == null) {
                lost = e;
            }
        }
        if (closeWhenReleased) {
            close();
        }
        return e;
    }

    /** Throws a new {@link DeviceLostException} naming the first sticky error, if there was one. */
    void checkNotLost() throws DeviceLostException {
        DeviceLostException e = lost;
        if (e != null) {
            throw new DeviceLostException(name + " is lost after: " + e.getMessage(), e);
        }
    }

    /** The IPC handle of a buffer's allocation ({@link Memory#ipcHandle}). */
    java.util.Optional<byte[]> ipcHandle(P pointer, String buffer) throws DeviceException {
        try {
            return memory.ipcHandle(pointer, buffer);
        } catch (DeviceLostException e) {
            throw lost(e);
        }
    }

    /** Called by a buffer's close, outside its lock. */
    void free(CudaBuffer<P> buffer) {
        if (open.remove(buffer) && buffer.pointer() != null) {
            memory.free(buffer.pointer());
        }
        if (closeWhenReleased && open.isEmpty()) {
            close();
        }
    }
}
