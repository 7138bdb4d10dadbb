package io.warmstage.device;

import io.warmstage.memory.ChunkBuffer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A ring of pinned host slots for staging H2D copies: each copy fills the next slot, enqueues an
 * async copy and records the slot's event; a slot is refilled only after its event completed.
 * Copies larger than a slot are split across consecutive slots. Reads back to the host go through
 * slot 0 after synchronizing.
 *
 * <p>Thread-safe: one ring serves every buffer of its device, so each call holds the ring's lock
 * for its whole length. Two threads copying into two buffers therefore take turns slot by slot and
 * never refill a slot whose copy is still in flight; a {@link #close} waits for a copy in progress.
 *
 * @param <P> the engine's device allocation handle
 */
public final class PinnedRing<P> implements AutoCloseable {
    private final CopyEngine<P> engine;
    private final ByteBuffer[] slots;
    private final boolean[] inFlight;
    private int next;
    private volatile boolean closed;

    /**
     * Pooled buffers whose bytes copies enqueued since the last synchronize read directly: each
     * holds a reference until the stream has run past its copy.
     */
    private final List<ChunkBuffer> held = new ArrayList<>();

    /** Whether the engine page-locks pooled buffers; false after it declined once. */
    private boolean pinsPooled = true;

    /** Pooled buffers held at most before the ring synchronizes and lets them go. */
    static final int MAX_HELD = 8;

    /**
     * Allocates {@code slotCount} pinned slots of {@code slotBytes} bytes each, once.
     *
     * @throws DeviceException if pinned memory cannot be allocated (already allocated slots and the
     *     engine are released)
     */
    public PinnedRing(CopyEngine<P> engine, int slotCount, int slotBytes) throws DeviceException {
        if (slotCount <= 0 || slotBytes <= 0) {
            throw new IllegalArgumentException(
                    "ring needs positive slot count and size: " + slotCount + " x " + slotBytes);
        }
        this.engine = engine;
        this.slots = new ByteBuffer[slotCount];
        this.inFlight = new boolean[slotCount];
        try {
            for (int i = 0; i < slotCount; i++) {
                slots[i] = engine.allocatePinned(i, slotBytes);
            }
        } catch (DeviceException | RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    /** Slot size in bytes. */
    public int slotBytes() {
        return slots[0].capacity();
    }

    /** Number of slots. */
    public int slotCount() {
        return slots.length;
    }

    /**
     * Stages {@code src.remaining()} bytes into {@code target} at {@code deviceOffset}, one slot at
     * a time; returns once the copies are enqueued. Advances {@code src} to its limit.
     *
     * @throws DeviceException if the engine fails to enqueue a copy or record an event; the ring
     *     then waits for what it had enqueued (best effort) so that no pinned slot is refilled
     *     while a copy may still read it, and {@code src}'s position is left where it stopped
     */
    public synchronized void copyFromHost(P target, long deviceOffset, ByteBuffer src)
            throws DeviceException {
        checkOpen();
        long offset = deviceOffset;
        try {
            while (src.hasRemaining()) {
                int slot = acquireSlot();
                int n = Math.min(src.remaining(), slots[slot].capacity());
                ByteBuffer pinned = slots[slot].duplicate().clear();
                pinned.put(src.slice(src.position(), n));
                src.position(src.position() + n);
                inFlight[slot] = true;
                engine.copyAsync(slot, target, offset, n);
                engine.record(slot);
                offset = Math.addExact(offset, n);
            }
        } catch (DeviceException | RuntimeException e) {
            drainAfterFailure();
            throw e;
        }
    }

    /**
     * Stages {@code src}, a view of {@code owner}'s pooled memory, into {@code target} at {@code
     * deviceOffset}: when the engine page-locks pooled buffers (once per buffer, kept while the
     * pool keeps it), the H2D copy reads {@code src} directly and {@code owner} is held until the
     * stream has run past it (at the next synchronize, which happens at the latest after {@link
     * #MAX_HELD} such copies, so held memory stays bounded). Otherwise, or without an owner, as
     * {@link #copyFromHost}. Advances {@code src} to its limit.
     *
     * @throws DeviceException as {@link #copyFromHost}
     */
    public synchronized void copyFromPooled(
            P target, long deviceOffset, ByteBuffer src, ChunkBuffer owner) throws DeviceException {
        checkOpen();
        if (owner == null || !src.isDirect() || !pinned(owner)) {
            copyFromHost(target, deviceOffset, src);
            return;
        }
        try {
            held.add(owner.retain());
            engine.copyAsyncFrom(src.slice(), target, deviceOffset);
            src.position(src.limit());
            if (held.size() >= MAX_HELD) {
                synchronize();
            }
        } catch (DeviceException | RuntimeException e) {
            drainAfterFailure();
            throw e;
        }
    }

    /** Pooled buffers held by copies in flight (for tests). */
    synchronized int held() {
        return held.size();
    }

    private boolean pinned(ChunkBuffer owner) throws DeviceException {
        if (owner.pin() != null) {
            return true;
        }
        if (!pinsPooled) {
            return false;
        }
        ChunkBuffer.Pin p;
        try {
            p = engine.pin(owner.memory());
        } catch (DeviceLostException e) {
            throw e;
        } catch (DeviceException e) {
            // Page-locking is an optimization: copy through the slots from now on.
            org.slf4j.LoggerFactory.getLogger(PinnedRing.class)
                    .warn(
                            "pooled buffers are not page-locked, copies go through pinned slots: {}",
                            e.getMessage());
            p = null;
        }
        if (p == null) {
            pinsPooled = false;
            return false;
        }
        if (!owner.pinnedBy(p)) {
            p.unpin(); // pinned by another device meanwhile
        }
        return true;
    }

    /** Waits for every enqueued copy; afterwards all slots are free. */
    public synchronized void synchronize() throws DeviceException {
        checkOpen();
        engine.synchronize();
        Arrays.fill(inFlight, false);
        releaseHeld();
    }

    private void releaseHeld() {
        held.forEach(ChunkBuffer::release);
        held.clear();
    }

    /**
     * Copies {@code source[deviceOffset, ...)} into {@code dst.remaining()} bytes of {@code dst},
     * after every enqueued copy, in slot-sized pieces. Advances {@code dst} to its limit.
     */
    public synchronized void copyToHost(P source, long deviceOffset, ByteBuffer dst)
            throws DeviceException {
        synchronize();
        long offset = deviceOffset;
        while (dst.hasRemaining()) {
            int n = Math.min(dst.remaining(), slots[0].capacity());
            dst.put(readPiece(source, offset, n));
            offset = Math.addExact(offset, n);
        }
    }

    /**
     * CRC-32C of {@code source[deviceOffset, deviceOffset + length)} after every enqueued copy,
     * read back in slot-sized pieces.
     */
    public synchronized int crc32c(P source, long deviceOffset, long length)
            throws DeviceException {
        synchronize();
        CRC32C crc = new CRC32C();
        long end = Math.addExact(deviceOffset, length);
        for (long offset = deviceOffset; offset < end; ) {
            int n = (int) Math.min(end - offset, slots[0].capacity());
            crc.update(readPiece(source, offset, n));
            offset += n;
        }
        return (int) crc.getValue();
    }

    /** Waits for in-flight copies (best effort) and releases the engine. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            engine.synchronize();
        } catch (DeviceException | RuntimeException e) {
            // Closing anyway: the engine frees its memory after the device is done or failed.
        } finally {
            releaseHeld();
            engine.close();
        }
    }

    private int acquireSlot() throws DeviceException {
        int slot = next;
        if (inFlight[slot]) {
            engine.waitFor(slot);
            inFlight[slot] = false;
        }
        next = (slot + 1) % slots.length;
        return slot;
    }

    /**
     * After a failed enqueue: a slot's copy may be enqueued without its event (record failed), so
     * wait for the whole stream before any slot is refilled. If that fails too the context is
     * broken and every later call fails.
     */
    private void drainAfterFailure() {
        try {
            engine.synchronize();
            releaseHeld(); // the stream ran past every held copy
        } catch (DeviceException | RuntimeException e) {
            // The original failure is the one to report. Held buffers stay held: a copy may still
            // read them; the ring's close gives them back.
        }
        Arrays.fill(inFlight, false);
    }

    private ByteBuffer readPiece(P source, long offset, int n) throws DeviceException {
        engine.copyToHost(0, source, offset, n);
        return slots[0].duplicate().clear().limit(n);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("pinned ring is closed");
        }
    }
}
