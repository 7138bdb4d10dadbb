package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * An in-memory {@link CopyEngine} over {@code byte[]} "device memory": async copies and events
 * queue on one stream and run only when the test calls {@link #complete}, or when the ring waits
 * ({@link #waitFor} runs the stream up to the slot's event, as a GPU would). Copies read their
 * pinned slot when they run, not when they are issued, like DMA; a slot reused too early therefore
 * lands wrong bytes, and issuing into a slot with a queued copy throws.
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

    private int copies;
    private int records;

    private final List<ByteBuffer> pinned = new ArrayList<>();
    private final Deque<Runnable> stream = new ArrayDeque<>();
    private final Deque<String> streamNames = new ArrayDeque<>();
    private final List<Integer> queuedCopies = new ArrayList<>();

    @Override
    public ByteBuffer allocatePinned(int slot, int bytes) throws DeviceException {
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

    @Override
    public void record(int slot) throws DeviceException {
        if (records++ == failRecordAfter) {
            throw new DeviceException("fake: record failed");
        }
        log.add("record " + slot);
        enqueue("ran event " + slot, () -> {});
    }

    @Override
    public void waitFor(int slot) {
        log.add("wait " + slot);
        // cuEventSynchronize waits for the slot's latest recorded event: run up to it.
        while (streamNames.contains("ran event " + slot)) {
            complete(1);
        }
    }

    @Override
    public void synchronize() {
        log.add("sync");
        complete(stream.size());
    }

    @Override
    public void copyToHost(int slot, byte[] source, long deviceOffset, int bytes) {
        if (!stream.isEmpty()) {
            throw new IllegalStateException("d2h read while copies are still queued");
        }
        log.add("d2h slot " + slot + " @" + deviceOffset + " x" + bytes);
        pinned.get(slot).duplicate().clear().put(source, (int) deviceOffset, bytes);
    }

    @Override
    public void close() {
        closed = true;
        log.add("close");
    }

    /** Runs the next {@code n} queued stream operations, as the GPU would. */
    void complete(int n) {
        for (int i = 0; i < n && !stream.isEmpty(); i++) {
            log.add(streamNames.removeFirst());
            stream.removeFirst().run();
        }
    }

    /** Stream operations queued and not yet run. */
    int queued() {
        return stream.size();
    }

    private void enqueue(String name, Runnable op) {
        streamNames.addLast(name);
        stream.addLast(op);
    }
}
