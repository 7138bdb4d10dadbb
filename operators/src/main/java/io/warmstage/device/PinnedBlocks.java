package io.warmstage.device;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Pinned host memory of any size, as pieces of at most {@link #MAX_PIECE} bytes, each its own
 * allocation: JCuda views a pinned block as a {@link ByteBuffer}, whose capacity is an {@code int},
 * so a block over 2 GiB must never be viewed whole. Views are taken per piece and per access, of
 * the bytes accessed only. Every piece is freed on {@link #close} and on any failure while
 * allocating. Not thread-safe.
 *
 * @param <H> the allocator's handle to one pinned piece ({@code Pointer} for CUDA)
 */
final class PinnedBlocks<H> implements AutoCloseable {
    /** Largest piece: 1 GiB. */
    static final int MAX_PIECE = 1 << 30;

    /** Allocates, views and frees pinned pieces ({@code cuMemHostAlloc} for CUDA). */
    interface Allocator<H> {
        /** Allocates one pinned piece of {@code bytes} (1 to {@link #MAX_PIECE}) bytes. */
        H allocate(int bytes) throws DeviceException;

        /** A direct view of {@code [offset, offset + length)} of one piece. */
        ByteBuffer view(H piece, int offset, int length);

        /** Frees one piece, ignoring errors (teardown). */
        void free(H piece);
    }

    private final Allocator<H> allocator;
    private final long size;
    private final int pieceBytes;
    private final List<H> pieces = new ArrayList<>();
    private boolean closed;

    /**
     * Allocates {@code bytes} of pinned memory in pieces of {@code pieceBytes}.
     *
     * @param bytes 1 or more; may exceed 2 GiB
     * @param pieceBytes 1 to {@link #MAX_PIECE}
     * @throws DeviceException if a piece cannot be allocated (every piece allocated is freed)
     */
    PinnedBlocks(Allocator<H> allocator, long bytes, int pieceBytes) throws DeviceException {
        if (bytes <= 0 || pieceBytes <= 0 || pieceBytes > MAX_PIECE) {
            throw new IllegalArgumentException(
                    "pinned blocks need 1 byte or more in pieces of 1 to "
                            + MAX_PIECE
                            + " bytes, not "
                            + bytes
                            + " in "
                            + pieceBytes);
        }
        this.allocator = allocator;
        this.size = bytes;
        this.pieceBytes = pieceBytes;
        try {
            for (long at = 0; at < bytes; at += pieceBytes) {
                pieces.add(allocator.allocate((int) Math.min(pieceBytes, bytes - at)));
            }
        } catch (DeviceException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Total size in bytes. */
    long size() {
        return size;
    }

    /** Number of pieces. */
    int pieceCount() {
        return pieces.size();
    }

    /** Piece {@code i}'s handle. */
    H piece(int i) {
        return pieces.get(i);
    }

    /** Byte offset of piece {@code i} in the whole. */
    long pieceOffset(int i) {
        return (long) i * pieceBytes;
    }

    /** Size in bytes of piece {@code i}. */
    int pieceSize(int i) {
        return (int) Math.min(pieceBytes, size - pieceOffset(i));
    }

    /**
     * Copies {@code src.remaining()} bytes into the blocks at {@code offset}, across pieces.
     * Advances {@code src} to its limit.
     *
     * @throws IndexOutOfBoundsException if the range lies outside the blocks
     */
    void fill(long offset, ByteBuffer src) {
        checkOpen();
        Ranges.check(offset, src.remaining(), size);
        long at = offset;
        while (src.hasRemaining()) {
            int i = (int) (at / pieceBytes);
            int within = (int) (at - pieceOffset(i));
            int n = Math.min(src.remaining(), pieceSize(i) - within);
            allocator.view(pieces.get(i), within, n).put(src.slice(src.position(), n));
            src.position(src.position() + n);
            at += n;
        }
    }

    /** Frees every piece. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (H piece : pieces) {
            allocator.free(piece);
        }
        pieces.clear();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("pinned blocks are closed");
        }
    }
}
