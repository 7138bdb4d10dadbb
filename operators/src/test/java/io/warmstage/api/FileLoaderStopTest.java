package io.warmstage.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.junit.jupiter.api.Test;

/**
 * When one range of a load fails, the loader stops and waits for its other threads before it frees
 * the device buffer: a buffer that watches its own copies and close sees none overlap.
 */
class FileLoaderStopTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @Test
    void aFailedRangeStopsTheOthersBeforeTheBufferIsFreed() throws Exception {
        Configuration c = new Configuration();
        c.set(WeightSourceOptions.SPLIT_SIZE, MemorySize.parse("8kb"));
        c.set(WeightSourceOptions.READS_IN_FLIGHT, 4);
        WatchingDevice device = new WatchingDevice();
        assertThat(Files.size(PEFT)).isGreaterThan(20 * 8192L); // many ranges

        assertThatThrownBy(() -> Warmstage.loadFile(PEFT.toString(), device, c))
                .isInstanceOf(DeviceException.class)
                .hasMessage("copy at device offset 0 failed");

        WatchingBuffer b = device.buffers.get(0);
        assertThat(b.closed).isTrue();
        assertThat(b.violations).isEmpty();
        assertThat(b.copying.get()).isZero();
    }

    /** Allocates {@link WatchingBuffer}s. */
    private static final class WatchingDevice implements Device {
        final List<WatchingBuffer> buffers = new CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "watching";
        }

        @Override
        public DeviceBuffer allocate(long bytes) {
            WatchingBuffer b = new WatchingBuffer(bytes);
            buffers.add(b);
            return b;
        }

        @Override
        public void close() {}
    }

    /**
     * Fails the copy at device offset 0; the next copy after that failure stays in flight until the
     * buffer is closed or its thread interrupted (10 s at most), as a slow device copy would.
     * Records a close during a copy and a copy after close.
     */
    private static final class WatchingBuffer implements DeviceBuffer {
        final long size;
        final AtomicInteger copying = new AtomicInteger();
        final List<String> violations = new CopyOnWriteArrayList<>();
        final CountDownLatch closing = new CountDownLatch(1);
        volatile boolean failed;
        volatile boolean blockedOne;
        volatile boolean closed;

        WatchingBuffer(long size) {
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
            if (closed) {
                violations.add("copy at " + offset + " after close");
            }
            copying.incrementAndGet();
            try {
                if (offset == 0) {
                    awaitAnotherLoaderWaitingToCopy();
                    failed = true;
                    throw new DeviceException("copy at device offset 0 failed");
                }
                if (failed && !blockedOne) {
                    blockedOne = true;
                    closing.await(10, TimeUnit.SECONDS);
                }
                src.position(src.limit());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DeviceException("copy at " + offset + " interrupted");
            } finally {
                copying.decrementAndGet();
            }
        }

        /**
         * Holds the failing copy until another loader thread has read its range and waits to copy
         * it (blocked on the loader's lock on this buffer), at most 10 s: that thread's copy then
         * follows the failure.
         */
        private static void awaitAnotherLoaderWaitingToCopy() {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Thread me = Thread.currentThread();
            while (System.nanoTime() < end) {
                for (var e : Thread.getAllStackTraces().entrySet()) {
                    if (e.getKey() != me
                            && e.getKey().getState() == Thread.State.BLOCKED
                            && java.util.Arrays.stream(e.getValue())
                                    .anyMatch(
                                            f ->
                                                    f.getClassName()
                                                            .equals(FileLoader.class.getName()))) {
                        return;
                    }
                }
                Thread.onSpinWait();
            }
        }

        @Override
        public void synchronize() {}

        @Override
        public void copyToHost(long offset, ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int crc32c(long offset, long length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
            if (copying.get() > 0) {
                violations.add("closed while " + copying.get() + " copy(ies) in flight");
            }
            closed = true;
            closing.countDown();
        }
    }
}
