package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-memory {@link CopyEngine} over {@code byte[]} "device memory": async copies and events
 * queue on one stream and run only when the test calls {@link #complete}, or when the ring waits
 * ({@link #waitFor} runs the stream up to the slot's event, as a GPU would). Copies read their
 * pinned slot when they run, not when they are issued, like DMA; a slot reused too early therefore
 * lands wrong bytes, and issuing into a slot with a queued copy throws.
 *
 * <p>A stream has one driver: the engine counts calls that overlap in time ({@link #overlaps}),
 * since a ring that lets two threads in at once can refill a slot whose copy is in flight. {@link
 * #duringCopy}, when set, runs once inside the next {@link #copyAsync}, before the copy is queued,
 * so a test can hold one thread there while another tries to get in.
 */
final class FakeCopyEngine implements CopyEngine<byte[]> {
    /** Everything the ring asked for and everything the stream ran, in order. */
    final List<String> log = new ArrayList<>();

    int allocations;
    boolean closed;
    int failAllocationAtSlot = -1;

    /** Copies ({@link #copyAsync}) or events ({@link #record}) issued before the failing one. */
    int failCopyAfter = -1;

    int failRecordAfter = -1;

    /** Engine calls that began while another was still running (must stay 0). */
    final AtomicInteger overlaps = new AtomicInteger();

    /** Runs once inside the next {@link #copyAsync}; null for none. */
    volatile Runnable duringCopy;

    /** A failure for the next {@link #copyAsync} to throw instead of copying; null for none. */
    volatile DeviceException nextCopyFailure;

    private final AtomicInteger inside = new AtomicInteger();
    private int copies;
    private int records;

    private final List<ByteBuffer> pinned = new ArrayList<>();
    private final Deque<Runnable> stream = new ArrayDeque<>();
    private final Deque<String> streamNames = new ArrayDeque<>();
    private final List<Integer> queuedCopies = new ArrayList<>();

    @Override
    public synchronized ByteBuffer allocatePinned(int slot, int bytes) throws DeviceException {
        if (slot == failAllocationAtSlot) {
            throw new DeviceException("fake: out of pinned memory");
        }
        allocations++;
        pinned.add(ByteBuffer.allocateDirect(bytes));
        return pinned.get(slot);
    }

    @Override
    public void copyAsync(int slot, byte[] target, long deviceOffset, int bytes)
            throws DeviceException {
        enter();
        try {
            Runnable hook = duringCopy;
            duringCopy = null;
            if (hook != null) {
                hook.run();
            }
            queueCopy(slot, target, deviceOffset, bytes);
        } finally {
            inside.decrementAndGet();
        }
    }

    private synchronized void queueCopy(int slot, byte[] target, long deviceOffset, int bytes)
            throws DeviceException {
        DeviceException failure = nextCopyFailure;
        if (failure != null) {
            nextCopyFailure = null;
            throw failure;
        }
        if (copies++ == failCopyAfter) {
            throw new DeviceException("fake: copy failed");
        }
        if (queuedCopies.contains(slot)) {
            throw new IllegalStateException("slot " + slot + " reused before its event completed");
        }
        queuedCopies.add(slot);
        log.add("h2d slot " + slot + " @" + deviceOffset + " x" + bytes);
        enqueue(
                "ran h2d @" + deviceOffset,
                () -> {
                    pinned.get(slot).duplicate().clear().get(target, (int) deviceOffset, bytes);
                    queuedCopies.remove(Integer.valueOf(slot));
                });
    }

    /** Whether {@link #pin} page-locks (else it declines, as an engine without the feature). */
    boolean pins = true;

    /** Host memory page-locked now: base address to length in bytes. */
    final java.util.Map<Long, Integer> pinnedNow = new java.util.HashMap<>();

    /** How often {@link #pin} was called. */
    int pinCalls;

    /** A failure for {@link #pin} to throw; null for none. */
    DeviceException pinFailure;

    @Override
    public synchronized io.warmstage.memory.ChunkBuffer.Pin pin(ByteBuffer memory)
            throws DeviceException {
        pinCalls++;
        if (pinFailure != null) {
            throw pinFailure;
        }
        if (!pins) {
            return null;
        }
        long address = address(memory);
        pinnedNow.put(address, memory.capacity());
        log.add("pin");
        return () -> {
            synchronized (this) {
                pinnedNow.remove(address);
                log.add("unpin");
            }
        };
    }

    @Override
    public synchronized void copyAsyncFrom(ByteBuffer src, byte[] target, long deviceOffset)
            throws DeviceException {
        long at = address(src);
        boolean inside =
                pinnedNow.entrySet().stream()
                        .anyMatch(
                                e ->
                                        at >= e.getKey()
                                                && at + src.remaining()
                                                        <= e.getKey() + e.getValue());
        if (!inside) {
            throw new IllegalStateException("direct copy from memory that is not pinned");
        }
        int bytes = src.remaining();
        ByteBuffer from = src.duplicate();
        log.add("h2d direct @" + deviceOffset + " x" + bytes);
        // Reads the host memory when it runs, like DMA: bytes changed before then land changed.
        enqueue(
                "ran h2d direct @" + deviceOffset,
                () -> from.get(target, (int) deviceOffset, bytes));
    }

    /** The address of a direct buffer's byte at its position. */
    private static long address(ByteBuffer b) {
        try {
            var f = java.nio.Buffer.class.getDeclaredField("address");
            f.setAccessible(true);
            return (long) f.get(b) + b.position();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized void record(int slot) throws DeviceException {
        enter();
        try {
            recordBody(slot);
        } finally {
            inside.decrementAndGet();
        }
    }

    private void recordBody(int slot) throws DeviceException {
        if (records++ == failRecordAfter) {
            throw new DeviceException("fake: record failed");
        }
        log.add("record " + slot);
        enqueue("ran event " + slot, () -> {});
    }

    @Override
    public synchronized void waitFor(int slot) {
        enter();
        try {
            waitForBody(slot);
        } finally {
            inside.decrementAndGet();
        }
    }

    private void waitForBody(int slot) {
        log.add("wait " + slot);
        // cuEventSynchronize waits for the slot's latest recorded event: run up to it.
        while (streamNames.contains("ran event " + slot)) {
            complete(1);
        }
    }

    @Override
    public synchronized void synchronize() {
        enter();
        try {
            synchronizeBody();
        } finally {
            inside.decrementAndGet();
        }
    }

    private void synchronizeBody() {
        log.add("sync");
        complete(stream.size());
    }

    @Override
    public synchronized void copyToHost(int slot, byte[] source, long deviceOffset, int bytes) {
        enter();
        try {
            copyToHostBody(slot, source, deviceOffset, bytes);
        } finally {
            inside.decrementAndGet();
        }
    }

    private void copyToHostBody(int slot, byte[] source, long deviceOffset, int bytes) {
        if (!stream.isEmpty()) {
            throw new IllegalStateException("d2h read while copies are still queued");
        }
        log.add("d2h slot " + slot + " @" + deviceOffset + " x" + bytes);
        pinned.get(slot).duplicate().clear().put(source, (int) deviceOffset, bytes);
    }

    @Override
    public synchronized void close() {
        closed = true;
        log.add("close");
    }

    /** Runs the next {@code n} queued stream operations, as the GPU would. */
    synchronized void complete(int n) {
        for (int i = 0; i < n && !stream.isEmpty(); i++) {
            log.add(streamNames.removeFirst());
            stream.removeFirst().run();
        }
    }

    /** Engine calls running now, on any thread. */
    int inside() {
        return inside.get();
    }

    /** Stream operations queued and not yet run. */
    synchronized int queued() {
        return stream.size();
    }

    private void enter() {
        if (inside.incrementAndGet() > 1) {
            overlaps.incrementAndGet();
        }
    }

    private void enqueue(String name, Runnable op) {
        streamNames.addLast(name);
        stream.addLast(op);
    }
}
