package io.warmstage.device;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A GPU-like {@link Device} without a GPU: the real {@link RingDevice}, {@link CudaBuffer} and
 * {@link PinnedRing} over {@link FakeCopyEngine} (copies land only when the stream runs) and {@code
 * byte[]} device memory. For tests in other packages, too.
 */
public final class FakeGpu {
    final FakeCopyEngine engine = new FakeCopyEngine();
    final Memory memory = new Memory();
    final RingDevice<byte[]> device;

    /** A device named {@code cuda:0} with a ring of {@code slots} slots of {@code slotBytes}. */
    public FakeGpu(int slots, int slotBytes) throws DeviceException {
        device = new RingDevice<>("cuda:0", memory, new PinnedRing<>(engine, slots, slotBytes));
    }

    /** The device. */
    public Device device() {
        return device;
    }

    /**
     * The bytes of {@code buffer} as they sit in device memory now (copies queued not included).
     */
    public byte[] bytes(DeviceBuffer buffer) {
        @SuppressWarnings("unchecked")
        CudaBuffer<byte[]> b = (CudaBuffer<byte[]>) buffer;
        return b.pointer() == null ? new byte[0] : b.pointer().clone();
    }

    /** Every allocation made so far, in order, freed or not: what device memory holds now. */
    public List<byte[]> allocations() {
        synchronized (memory) {
            return List.copyOf(memory.all);
        }
    }

    /** Stream operations queued and not yet run. */
    public int queued() {
        return engine.queued();
    }

    /** Makes the next H2D copy fail with {@code e}. */
    public void failNextCopy(DeviceException e) {
        engine.nextCopyFailure = e;
    }

    /** H2D copies read straight from page-locked pooled buffers so far. */
    public long directCopies() {
        synchronized (engine) {
            return engine.log.stream().filter(l -> l.startsWith("h2d direct")).count();
        }
    }

    /** H2D copies staged through the ring's pinned slots so far. */
    public long slotCopies() {
        synchronized (engine) {
            return engine.log.stream().filter(l -> l.startsWith("h2d slot")).count();
        }
    }

    /**
     * Makes buffers export IPC handles from now on: {@link #ipcHandleOf} of their allocation (off
     * by default, so that a staging function on this device lists nothing in a staged set).
     */
    public void exportIpcHandles() {
        memory.exportHandles = true;
    }

    /**
     * The 64-byte IPC handle this device exports for its {@code n}-th allocation (0-based): byte
     * {@code i} is {@code n * 64 + i}, modulo 256.
     */
    public static byte[] ipcHandleOf(int n) {
        byte[] h = new byte[64];
        for (int i = 0; i < h.length; i++) {
            h[i] = (byte) (n * 64 + i);
        }
        return h;
    }

    /** Whether the device closed: ring (engine) and context (memory) released. */
    public boolean closed() {
        return device.isClosed() && engine.closed && memory.closed;
    }

    /** Device memory as {@code byte[]} arrays; checks that nothing is freed mid-copy. */
    final class Memory implements RingDevice.Memory<byte[]> {
        final List<byte[]> live = new ArrayList<>();
        final List<byte[]> all = new ArrayList<>();
        final AtomicInteger freedDuringCopy = new AtomicInteger();
        volatile boolean closed;
        volatile boolean exportHandles;

        @Override
        public synchronized byte[] allocate(long bytes) {
            byte[] b = new byte[Math.toIntExact(bytes)];
            live.add(b);
            all.add(b);
            return b;
        }

        @Override
        public synchronized void free(byte[] pointer) {
            if (engine.inside() > 0) {
                freedDuringCopy.incrementAndGet();
            }
            live.remove(pointer);
        }

        @Override
        public synchronized java.util.Optional<byte[]> ipcHandle(byte[] pointer, String buffer) {
            if (!exportHandles) {
                return java.util.Optional.empty();
            }
            for (int n = 0; n < all.size(); n++) {
                if (all.get(n) == pointer) {
                    return java.util.Optional.of(ipcHandleOf(n));
                }
            }
            throw new IllegalStateException(buffer + " is not an allocation of this device");
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
