package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * For {@code cuda}, the pooled chunk buffers are the pinned memory the H2D copy reads from: a
 * chunk's bytes go from the buffer its read landed in straight to the device, with no staging copy
 * through the ring's slots; the buffer is held until the stream has run past the copy, and made
 * pageable again before the pool frees it.
 */
class PinnedPoolCopyTest {
    private final FakeCopyEngine engine = new FakeCopyEngine();
    private final byte[] device = new byte[1 << 12];
    private final ChunkBuffers pool = new ChunkBuffers(256, 256); // keeps one idle buffer

    @Test
    void aPooledChunkIsCopiedStraightFromItsBufferAndHeldUntilItLanded() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 64);
        ChunkBuffer chunk = fill(pool.take(), 256, 7);
        byte[] want = bytes(chunk, 16, 256);

        // The data section of a chunk that began with 16 header bytes.
        ByteBuffer section = chunk.memory().limit(256).position(16).slice();
        ring.copyFromPooled(device, 100, section, chunk);
        chunk.release(); // the reader's reference: the copy keeps its own

        assertThat(section.hasRemaining()).isFalse();
        assertThat(engine.log).containsExactly("pin", "h2d direct @100 x240");
        assertThat(chunk.references()).as("held by the copy in flight").isEqualTo(1);
        assertThat(Arrays.copyOfRange(device, 100, 340)).containsOnly(0);

        ring.synchronize();

        assertThat(Arrays.copyOfRange(device, 100, 340)).isEqualTo(want);
        assertThat(chunk.references()).as("given back once landed").isZero();
        assertThat(pool.idle()).isEqualTo(1);
    }

    @Test
    void eachBufferIsPinnedOnceAndHeldBuffersStayBounded() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 64);
        List<ChunkBuffer> chunks = new ArrayList<>();
        for (int i = 0; i < PinnedRing.MAX_HELD + 2; i++) {
            chunks.add(fill(pool.take(), 256, i));
        }
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < chunks.size(); i++) {
                ChunkBuffer c = chunks.get(i);
                ring.copyFromPooled(device, 256L * (i % 16), c.memory().limit(256), c);
                assertThat(ring.held()).isLessThanOrEqualTo(PinnedRing.MAX_HELD);
            }
        }
        ring.synchronize();

        assertThat(engine.pinCalls).as("one pin per buffer").isEqualTo(chunks.size());
        assertThat(engine.log).noneMatch(l -> l.startsWith("h2d slot"));
        for (int i = 0; i < chunks.size(); i++) {
            int at = 256 * (i % 16);
            assertThat(Arrays.copyOfRange(device, at, at + 256))
                    .isEqualTo(bytes(chunks.get(i), 0, 256));
            assertThat(chunks.get(i).references()).isEqualTo(1); // only the test's own
        }
    }

    @Test
    void theMemoryIsUnpinnedBeforeThePoolFreesIt() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 64);
        ChunkBuffer a = fill(pool.take(), 256, 1);
        ChunkBuffer b = fill(pool.take(), 256, 2);
        ring.copyFromPooled(device, 0, a.memory().limit(256), a);
        ring.copyFromPooled(device, 256, b.memory().limit(256), b);
        ring.synchronize();
        assertThat(engine.pinnedNow).hasSize(2);

        a.release(); // kept idle by the pool: stays pinned for the next chunk
        b.release(); // beyond the pool's idle bytes: freed, so unpinned first
        assertThat(engine.pinnedNow).hasSize(1);
        assertThat(engine.log).containsOnlyOnce("unpin");
    }

    @Test
    void anEngineThatDoesNotPinCopiesThroughItsSlots() throws Exception {
        engine.pins = false;
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 128);
        ChunkBuffer c = fill(pool.take(), 256, 3);
        ring.copyFromPooled(device, 0, c.memory().limit(256), c);
        ring.copyFromPooled(device, 256, c.memory().limit(256), c);
        ring.synchronize();

        assertThat(engine.pinCalls).as("asked once, then never again").isEqualTo(1);
        assertThat(engine.log).filteredOn(l -> l.startsWith("h2d slot")).hasSize(4);
        assertThat(Arrays.copyOfRange(device, 0, 256)).isEqualTo(bytes(c, 0, 256));
        assertThat(Arrays.copyOfRange(device, 256, 512)).isEqualTo(bytes(c, 0, 256));
        assertThat(c.references()).isEqualTo(1);
    }

    @Test
    void aRefusedPinFallsBackToTheSlotsInsteadOfFailingTheCopy() throws Exception {
        engine.pinFailure = new DeviceException("fake: cuMemHostRegister refused");
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 128);
        ChunkBuffer c = fill(pool.take(), 256, 4);
        ring.copyFromPooled(device, 0, c.memory().limit(256), c);
        ring.copyFromPooled(device, 256, c.memory().limit(256), c);
        ring.synchronize();
        assertThat(engine.pinCalls).as("asked once, then never again").isEqualTo(1);
        assertThat(c.pin()).isNull();
        assertThat(Arrays.copyOfRange(device, 0, 256)).isEqualTo(bytes(c, 0, 256));
        assertThat(Arrays.copyOfRange(device, 256, 512)).isEqualTo(bytes(c, 0, 256));
        assertThat(engine.log).filteredOn(l -> l.startsWith("h2d slot")).hasSize(4);
    }

    @Test
    void bytesWithoutAPooledOwnerGoThroughTheSlots() throws Exception {
        PinnedRing<byte[]> ring = new PinnedRing<>(engine, 2, 128);
        byte[] heap = new byte[100];
        new Random(9).nextBytes(heap);
        ring.copyFromPooled(device, 0, ByteBuffer.wrap(heap), null);
        ring.synchronize();
        assertThat(engine.pinCalls).isZero();
        assertThat(Arrays.copyOfRange(device, 0, 100)).isEqualTo(heap);
    }

    private static ChunkBuffer fill(ChunkBuffer c, int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        c.memory().put(b);
        return c;
    }

    private static byte[] bytes(ChunkBuffer c, int from, int to) {
        byte[] out = new byte[to - from];
        c.memory().position(from).get(out);
        return out;
    }
}
