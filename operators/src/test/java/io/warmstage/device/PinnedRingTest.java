package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class PinnedRingTest {
    private final FakeCopyEngine engine = new FakeCopyEngine();
    private final byte[] device = new byte[256];

    @Test
    void copiesAreEnqueuedAndLandOnlyWhenTheStreamRuns() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 4, 8);
        byte[] src = random(20, 1);

        ring.copyFromHost(device, 10, ByteBuffer.wrap(src));

        assertThat(engine.log)
                .containsExactly(
                        "h2d slot 0 @10 x8", "record 0",
                        "h2d slot 1 @18 x8", "record 1",
                        "h2d slot 2 @26 x4", "record 2");
        assertThat(Arrays.copyOfRange(device, 10, 30)).containsOnly(0);

        ring.synchronize();

        assertThat(Arrays.copyOfRange(device, 10, 30)).isEqualTo(src);
        assertThat(engine.queued()).isZero();
    }

    @Test
    void slotIsRefilledOnlyAfterItsEventCompleted() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        byte[] src = random(24, 2);

        ring.copyFromHost(device, 0, ByteBuffer.wrap(src));

        assertThat(engine.log)
                .containsExactly(
                        "h2d slot 0 @0 x8",
                        "record 0",
                        "h2d slot 1 @8 x8",
                        "record 1",
                        "wait 0",
                        "ran h2d @0",
                        "ran event 0",
                        "h2d slot 0 @16 x8",
                        "record 0");
        ring.synchronize();
        assertThat(Arrays.copyOfRange(device, 0, 24)).isEqualTo(src);
    }

    @Test
    void waitOnAnEventTheTestAlreadyCompletedRunsNothingMore() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        ring.copyFromHost(device, 0, ByteBuffer.wrap(random(16, 3)));
        engine.complete(2); // the GPU finishes slot 0's copy and event
        engine.log.clear();

        ring.copyFromHost(device, 16, ByteBuffer.wrap(random(8, 4)));

        assertThat(engine.log).containsExactly("wait 0", "h2d slot 0 @16 x8", "record 0");
        assertThat(engine.queued()).isEqualTo(4); // slot 1's copy + event, slot 0's again
    }

    @Test
    void copiesLandAtTheirOffsetsInIssueOrder() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 3, 16);
        byte[] expected = new byte[device.length];
        Random rnd = new Random(5);
        for (int i = 0; i < 200; i++) {
            int offset = rnd.nextInt(device.length);
            byte[] chunk = random(rnd.nextInt(device.length - offset + 1), i);
            System.arraycopy(chunk, 0, expected, offset, chunk.length);
            ring.copyFromHost(device, offset, ByteBuffer.wrap(chunk));
            engine.complete(rnd.nextInt(3));
        }

        ring.synchronize();

        assertThat(device).isEqualTo(expected);
        assertThat(engine.allocations).isEqualTo(3);
    }

    @Test
    void synchronizeWaitsForAllSoEverySlotIsFreeAfter() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        ring.copyFromHost(device, 0, ByteBuffer.wrap(random(16, 6)));

        ring.synchronize();
        engine.log.clear();
        ring.copyFromHost(device, 16, ByteBuffer.wrap(random(16, 7)));

        assertThat(engine.log).noneMatch(e -> e.startsWith("wait"));
    }

    @Test
    void advancesTheSourceAndReadsSourcesWithAPosition() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        byte[] all = random(30, 8);
        ByteBuffer src = ByteBuffer.allocateDirect(30).put(all).position(5).limit(25);

        ring.copyFromHost(device, 0, src);
        ring.synchronize();

        assertThat(src.position()).isEqualTo(25);
        assertThat(Arrays.copyOfRange(device, 0, 20)).isEqualTo(Arrays.copyOfRange(all, 5, 25));
    }

    @Test
    void readsBackInSlotSizedPiecesAfterSynchronizing() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        byte[] src = random(20, 9);
        ring.copyFromHost(device, 3, ByteBuffer.wrap(src));
        engine.log.clear();

        ByteBuffer dst = ByteBuffer.allocate(20);
        ring.copyToHost(device, 3, dst);

        assertThat(dst.array()).isEqualTo(src);
        assertThat(engine.log.stream().filter(e -> e.startsWith("d2h")))
                .containsExactly("d2h slot 0 @3 x8", "d2h slot 0 @11 x8", "d2h slot 0 @19 x4");
        assertThat(engine.log.get(0)).isEqualTo("sync");
    }

    @Test
    void crc32cMatchesTheOrigin() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        byte[] src = random(100, 10);
        ring.copyFromHost(device, 50, ByteBuffer.wrap(src));

        assertThat(ring.crc32c(device, 50, 100)).isEqualTo(crc32c(src));
        assertThat(ring.crc32c(device, 0, 0)).isEqualTo(crc32c(new byte[0]));
    }

    @Test
    void closeSynchronizesThenClosesTheEngineOnce() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        byte[] src = random(16, 11);
        ring.copyFromHost(device, 0, ByteBuffer.wrap(src));

        ring.close();
        ring.close();

        assertThat(Arrays.copyOfRange(device, 0, 16)).isEqualTo(src);
        assertThat(engine.log.stream().filter(e -> e.equals("close")).count()).isEqualTo(1);
        assertThatThrownBy(() -> ring.copyFromHost(device, 0, ByteBuffer.allocate(1)))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void failedPinnedAllocationReleasesTheEngine() {
        engine.failAllocationAtSlot = 2;

        assertThatThrownBy(() -> new PinnedRing<>(engine, 4, 8))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("out of pinned memory");
        assertThat(engine.closed).isTrue();
        assertThat(engine.log).isEqualTo(List.of("close"));
    }

    @Test
    void failedCopyMidwayDrainsTheStreamSoNoSlotIsRefilledWhileInFlight() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        engine.failCopyAfter = 2; // the third 8-byte piece fails to enqueue
        byte[] src = random(32, 12);
        ByteBuffer buf = ByteBuffer.wrap(src);

        assertThatThrownBy(() -> ring.copyFromHost(device, 0, buf))
                .isInstanceOf(DeviceException.class)
                .hasMessage("fake: copy failed");

        assertThat(engine.queued()).isZero();
        assertThat(Arrays.copyOfRange(device, 0, 16)).isEqualTo(Arrays.copyOfRange(src, 0, 16));
        assertThat(buf.position()).isEqualTo(24);
        engine.log.clear();
        ring.copyFromHost(device, 16, ByteBuffer.wrap(src, 16, 16));
        assertThat(engine.log).noneMatch(e -> e.startsWith("wait"));
        ring.synchronize();
        assertThat(Arrays.copyOfRange(device, 0, 32)).isEqualTo(src);
    }

    @Test
    void failedEventRecordWaitsForTheCopyAlreadyEnqueuedFromThatSlot() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        engine.failRecordAfter = 0;
        byte[] src = random(8, 13);

        assertThatThrownBy(() -> ring.copyFromHost(device, 40, ByteBuffer.wrap(src)))
                .isInstanceOf(DeviceException.class)
                .hasMessage("fake: record failed");

        // The copy was enqueued without its event: the ring drained the stream, so the bytes
        // landed and slot 0 is free again.
        assertThat(engine.queued()).isZero();
        assertThat(Arrays.copyOfRange(device, 40, 48)).isEqualTo(src);
        assertThat(engine.log).containsExactly("h2d slot 0 @40 x8", "sync", "ran h2d @40");
    }

    @Test
    void closeAfterAFailedCopyStillClosesTheEngineOnce() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 8);
        engine.failCopyAfter = 1;
        assertThatThrownBy(() -> ring.copyFromHost(device, 0, ByteBuffer.wrap(random(24, 14))))
                .isInstanceOf(DeviceException.class);

        ring.close();

        assertThat(engine.closed).isTrue();
        assertThat(engine.log.stream().filter(e -> e.equals("close")).count()).isEqualTo(1);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static int crc32c(byte[] b) {
        CRC32C crc = new CRC32C();
        crc.update(b);
        return (int) crc.getValue();
    }
}
