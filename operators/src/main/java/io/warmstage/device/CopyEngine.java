package io.warmstage.device;

import java.nio.ByteBuffer;

/**
 * The device operations a {@link PinnedRing} drives: pinned staging slots, asynchronous
 * host-to-device (H2D) copies in issue order on one stream, one completion event per slot, and
 * synchronous device-to-host reads. {@link CudaCopyEngine} implements it with the CUDA Driver API;
 * tests use an in-memory engine.
 *
 * @param <P> the engine's handle to a device allocation (a {@code CUdeviceptr} for CUDA)
 */
public interface CopyEngine<P> extends AutoCloseable {

    /**
     * Allocates pinned host memory for ring slot {@code slot} and returns a direct view of it.
     *
     * @param bytes slot size in bytes
     */
    ByteBuffer allocatePinned(int slot, int bytes) throws DeviceException;

    /**
     * Enqueues an H2D copy of the first {@code bytes} bytes of slot {@code slot} to {@code
     * target[deviceOffset, deviceOffset + bytes)}. Returns before the copy runs; the slot must not
     * change until its event, recorded after this, has completed.
     */
    void copyAsync(int slot, P target, long deviceOffset, int bytes) throws DeviceException;

    /** Records slot {@code slot}'s event on the stream after the copies enqueued so far. */
    void record(int slot) throws DeviceException;

    /** Blocks until slot {@code slot}'s last recorded event has completed. */
    void waitFor(int slot) throws DeviceException;

    /** Blocks until every operation enqueued on the stream has completed. */
    void synchronize() throws DeviceException;

    /**
     * Copies {@code source[deviceOffset, deviceOffset + bytes)} into the first {@code bytes} bytes
     * of slot {@code slot}, synchronously. Call only when the slot is idle.
     */
    void copyToHost(int slot, P source, long deviceOffset, int bytes) throws DeviceException;

    /**
     * Page-locks {@code memory} (all its capacity) for every context of the process, so that {@link
     * #copyAsyncFrom} can read it directly ({@code cuMemHostRegister}, portable).
     *
     * @return an undo that makes it pageable again (errors ignored), or null when this engine does
     *     not page-lock host memory
     * @throws DeviceException if the device refuses
     */
    default io.warmstage.memory.ChunkBuffer.Pin pin(ByteBuffer memory) throws DeviceException {
        return null;
    }

    /**
     * Enqueues an H2D copy of {@code src.remaining()} bytes of page-locked host memory (see {@link
     * #pin}) to {@code target[deviceOffset, ...)}. Returns before the copy runs; {@code src} must
     * not change or be freed until a later {@link #synchronize} returned.
     */
    default void copyAsyncFrom(ByteBuffer src, P target, long deviceOffset) throws DeviceException {
        throw new UnsupportedOperationException("this engine copies from its pinned slots only");
    }

    /** Frees every slot's pinned memory, the events and the stream. Idempotent. */
    @Override
    void close();
}
