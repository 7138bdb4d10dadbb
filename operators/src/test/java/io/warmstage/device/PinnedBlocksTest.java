package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pinned memory over 2 GiB without a GPU: an allocator that records sizes and views. */
class PinnedBlocksTest {
    /** The GPU check's default data section: 4,450,312,192 bytes. */
    private static final long CHECK_BYTES = 4_450_312_192L;

    private final RecordingAllocator allocator = new RecordingAllocator();

    @Test
    void aBlockOver2GibIsNeverAllocatedOrViewedWhole() throws Exception {
        try (PinnedBlocks<Integer> blocks =
                new PinnedBlocks<>(allocator, CHECK_BYTES, PinnedBlocks.MAX_PIECE)) {
            blocks.fill(0, ByteBuffer.wrap(PinnedRingTest.random(64, 1)));
            blocks.fill((1L << 30) - 10, ByteBuffer.wrap(PinnedRingTest.random(20, 2)));
            blocks.fill(CHECK_BYTES - 5, ByteBuffer.wrap(PinnedRingTest.random(5, 3)));

            assertThat(allocator.allocated)
                    .containsExactly(1 << 30, 1 << 30, 1 << 30, 1 << 30, 155_344_896);
            assertThat(allocator.allocated.stream().mapToLong(Integer::longValue).sum())
                    .isEqualTo(CHECK_BYTES);
            assertThat(allocator.viewed).allMatch(n -> n <= PinnedBlocks.MAX_PIECE);
            assertThat(allocator.viewed).containsExactly(64, 10, 10, 5);
            assertThat(blocks.pieceOffset(4) + blocks.pieceSize(4)).isEqualTo(CHECK_BYTES);
        }
        assertThat(allocator.live()).isEmpty();
    }

    @Test
    void bytesLandAcrossPieceBoundaries() throws Exception {
        allocator.backed = true;
        byte[] src = PinnedRingTest.random(100, 4);
        try (PinnedBlocks<Integer> blocks = new PinnedBlocks<>(allocator, 103, 16)) {
            blocks.fill(3, ByteBuffer.wrap(src));

            assertThat(blocks.pieceCount()).isEqualTo(7);
            byte[] all = new byte[103];
            for (int i = 0; i < blocks.pieceCount(); i++) {
                ByteBuffer piece = allocator.memory.get(blocks.piece(i)).duplicate().clear();
                piece.get(all, (int) blocks.pieceOffset(i), blocks.pieceSize(i));
            }
            assertThat(java.util.Arrays.copyOfRange(all, 3, 103)).isEqualTo(src);
            assertThatThrownBy(() -> blocks.fill(100, ByteBuffer.allocate(4)))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void aFailedPieceFreesThoseAllocatedBefore() {
        allocator.failAt = 3;

        assertThatThrownBy(() -> new PinnedBlocks<>(allocator, CHECK_BYTES, PinnedBlocks.MAX_PIECE))
                .isInstanceOf(DeviceException.class)
                .hasMessage("fake: out of pinned memory");
        assertThat(allocator.allocated).hasSize(3);
        assertThat(allocator.live()).isEmpty();
    }

    @Test
    void aRuntimeFailureFreesThemToo() {
        allocator.throwAt = 1;

        assertThatThrownBy(() -> new PinnedBlocks<>(allocator, 3L << 30, PinnedBlocks.MAX_PIECE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(allocator.live()).isEmpty();
    }

    /** Hands out numbered pieces; backs them with memory only when asked (small tests). */
    private static final class RecordingAllocator implements PinnedBlocks.Allocator<Integer> {
        final List<Integer> allocated = new ArrayList<>();
        final List<Integer> viewed = new ArrayList<>();
        final List<Integer> freed = new ArrayList<>();
        final Map<Integer, ByteBuffer> memory = new HashMap<>();
        boolean backed;
        int failAt = -1;
        int throwAt = -1;

        @Override
        public Integer allocate(int bytes) throws DeviceException {
            int id = allocated.size();
            if (id == failAt) {
                throw new DeviceException("fake: out of pinned memory");
            }
            if (id == throwAt) {
                throw new IllegalArgumentException("fake: capacity " + bytes);
            }
            allocated.add(bytes);
            if (backed) {
                memory.put(id, ByteBuffer.allocateDirect(bytes));
            }
            return id;
        }

        @Override
        public ByteBuffer view(Integer piece, int offset, int length) {
            assertThat((long) offset + length).isLessThanOrEqualTo(allocated.get(piece));
            viewed.add(length);
            return backed
                    ? memory.get(piece).duplicate().clear().position(offset).limit(offset + length)
                    : ByteBuffer.allocate(length);
        }

        @Override
        public void free(Integer piece) {
            freed.add(piece);
        }

        List<Integer> live() {
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < allocated.size(); i++) {
                if (!freed.contains(i)) {
                    out.add(i);
                }
            }
            return out;
        }
    }
}
