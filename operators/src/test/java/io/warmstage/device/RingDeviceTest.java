package io.warmstage.device;

import static io.warmstage.device.PinnedRingTest.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** The GPU device's buffers, ring and life cycle over the fake copy engine, from many threads. */
class RingDeviceTest {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @Test
    void twoBuffersOfOneDeviceNeverDriveTheSharedRingAtOnce() throws Exception {
        FakeGpu gpu = new FakeGpu(1, 8);
        DeviceBuffer a = gpu.device.allocate(8);
        DeviceBuffer b = gpu.device.allocate(8);
        byte[] srcA = random(8, 1);
        byte[] srcB = random(8, 2);
        Thread[] second = new Thread[1];
        // Hold A inside its copy until B is either inside the engine too (a second driver: the
        // bug) or blocked on the ring's lock (waiting its turn).
        gpu.engine.duringCopy =
                () ->
                        await(
                                () ->
                                        gpu.engine.overlaps.get() > 0
                                                || second[0].getState() == Thread.State.BLOCKED);

        second[0] =
                new Thread(
                        () -> {
                            await(() -> gpu.engine.inside() > 0);
                            copy(b, 0, srcB);
                        });
        second[0].start();
        copy(a, 0, srcA);
        second[0].join(DEADLINE.toMillis());
        a.synchronize();

        assertThat(gpu.engine.overlaps.get()).isZero();
        assertThat(gpu.bytes(a)).isEqualTo(srcA);
        assertThat(gpu.bytes(b)).isEqualTo(srcB);
    }

    @Test
    void concurrentCopiesIntoTwoBuffersAllLandAtTheirOffsets() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 16);
        DeviceBuffer a = gpu.device.allocate(4096);
        DeviceBuffer b = gpu.device.allocate(4096);
        byte[] srcA = random(4096, 3);
        byte[] srcB = random(4096, 4);

        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> copyIn(b, srcB, 7));
        copyIn(a, srcA, 5);
        other.get();
        b.synchronize();

        assertThat(gpu.engine.overlaps.get()).isZero();
        assertThat(gpu.bytes(a)).isEqualTo(srcA);
        assertThat(gpu.bytes(b)).isEqualTo(srcB);
    }

    @Test
    void closeWaitsForACopyAnotherThreadIsIssuingIntoTheBuffer() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        DeviceBuffer a = gpu.device.allocate(16);
        Thread main = Thread.currentThread();
        java.util.concurrent.atomic.AtomicBoolean closeStarted =
                new java.util.concurrent.atomic.AtomicBoolean();
        gpu.engine.duringCopy =
                () ->
                        await(
                                () ->
                                        closeStarted.get()
                                                && (main.getState() == Thread.State.BLOCKED
                                                        || gpu.memory.freedDuringCopy.get() > 0));
        CompletableFuture<Void> copying =
                CompletableFuture.runAsync(() -> copy(a, 0, random(16, 6)));
        await(() -> gpu.engine.inside() > 0);

        closeStarted.set(true);
        a.close();
        copying.get();

        assertThat(gpu.memory.freedDuringCopy.get()).isZero();
        assertThat(gpu.memory.live).isEmpty();
        assertThat(gpu.queued()).isZero();
        assertThatThrownBy(() -> a.copyFromHost(0, ByteBuffer.allocate(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void aDeviceReleasedWithResidentBuffersClosesWithTheLastOne() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        DeviceBuffer a = gpu.device.allocate(8);
        DeviceBuffer b = gpu.device.allocate(8);
        copy(a, 0, random(8, 7));

        gpu.device.closeWhenReleased();

        assertThat(gpu.closed()).isFalse();
        assertThat(a.crc32c(0, 8)).isEqualTo(PinnedRingTest.crc32c(gpu.bytes(a)));
        assertThatThrownBy(() -> gpu.device.allocate(1)).isInstanceOf(IllegalStateException.class);
        a.close();
        assertThat(gpu.closed()).isFalse();
        b.close();
        assertThat(gpu.closed()).isTrue();
        assertThat(gpu.memory.live).isEmpty();
    }

    @Test
    void aDeviceReleasedWithNothingResidentClosesAtOnce() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        gpu.device.allocate(8).close();

        gpu.device.closeWhenReleased();

        assertThat(gpu.closed()).isTrue();
    }

    @Test
    void releasingTheClaimOfAResidentSlotClosesItsDeviceWithTheLastBuffer() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        GpuClaims claims = GpuClaimsTest.claims();
        Device d =
                Devices.openForSlot(
                        "cuda",
                        SlotGpu.of(0, List.of(), List.of(), false),
                        CudaAvailability.of(1),
                        claims,
                        n -> gpu.device);
        DeviceBuffer resident = d.allocate(8);

        Devices.releaseClaim(d);

        assertThat(claims.holders(0)).isEmpty();
        assertThat(gpu.closed()).isFalse();
        resident.close();
        assertThat(gpu.closed()).isTrue();
    }

    @Test
    void aStickyErrorLosesTheDeviceForEveryBufferAndClosesAReleasedOne() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        DeviceBuffer a = gpu.device.allocate(8);
        DeviceBuffer b = gpu.device.allocate(8);
        gpu.failNextCopy(
                CudaErrors.of("cuda:0: cuMemcpyHtoDAsync", "CUDA_ERROR_ILLEGAL_ADDRESS", null));

        assertThatThrownBy(() -> copy(a, 0, random(8, 8)))
                .hasCauseInstanceOf(DeviceLostException.class);
        assertThatThrownBy(() -> b.copyFromHost(0, ByteBuffer.allocate(8)))
                .isInstanceOf(DeviceLostException.class)
                .hasMessageContaining("cuda:0 is lost after")
                .hasMessageContaining("CUDA_ERROR_ILLEGAL_ADDRESS");
        assertThatThrownBy(() -> gpu.device.allocate(8)).isInstanceOf(DeviceLostException.class);

        gpu.device.closeWhenReleased(); // buffers still open, but lost: close now

        assertThat(gpu.closed()).isTrue();
        assertThat(gpu.memory.live).isEmpty();
    }

    @Test
    void anOrdinaryErrorFailsOneCopyOnly() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 8);
        DeviceBuffer a = gpu.device.allocate(8);
        gpu.failNextCopy(
                CudaErrors.of("cuda:0: cuMemcpyHtoDAsync", "CUDA_ERROR_INVALID_VALUE", null));

        assertThatThrownBy(() -> a.copyFromHost(0, ByteBuffer.allocate(8)))
                .isExactlyInstanceOf(DeviceException.class);
        byte[] src = random(8, 9);
        copy(a, 0, src);
        a.synchronize();
        assertThat(gpu.bytes(a)).isEqualTo(src);
    }

    private static void copyIn(DeviceBuffer b, byte[] src, int piece) {
        for (int off = 0; off < src.length; off += piece) {
            int n = Math.min(piece, src.length - off);
            copy(b, off, Arrays.copyOfRange(src, off, off + n));
        }
    }

    private static void copy(DeviceBuffer b, long offset, byte[] src) {
        try {
            b.copyFromHost(offset, ByteBuffer.wrap(src));
        } catch (DeviceException e) {
            throw new IllegalStateException(e);
        }
    }

    static void await(BooleanSupplier condition) {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not met within " + DEADLINE);
            }
            Thread.onSpinWait();
        }
    }
}
