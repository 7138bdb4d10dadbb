package io.warmstage.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;

/**
 * One storage backend (file://, http(s)://, s3://, gs://), chosen by URI scheme through {@link
 * ObjectStores}. The copy engine knows nothing of any one backend.
 *
 * <p>Implementations are thread-safe: several ranged reads run at once.
 */
public interface ObjectStore extends Closeable {

    /**
     * Returns the object's current size and version token.
     *
     * @throws StorageException with {@code retryable() == false} for 301/403/404 and a missing
     *     file, naming host or bucket, key and status; retryable for 5xx and resets
     */
    ObjectVersion stat(URI uri) throws IOException;

    /**
     * Opens bytes {@code [offset, offset + length)} of the object as it was at {@code pinned}.
     *
     * <p>The stream yields exactly {@code length} bytes or throws: a response that is not the
     * requested range (a 200 to a range request, a Content-Range that does not match, a
     * Content-Encoding other than identity) or a changed version is a {@link StorageException},
     * never data. A body that ends early throws a retryable {@link StorageException} from {@code
     * read}. Closing the stream before its end aborts the connection rather than draining it.
     *
     * @param offset first byte, 0-based, in bytes
     * @param length number of bytes, at least 1
     */
    InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException;

    /**
     * Reads bytes {@code [offset, offset + dst.remaining())} of the object as it was at {@code
     * pinned} into {@code dst}, from its position to its limit: the fast path for a reader that
     * owns pooled (direct) buffers. Backends that can read into a {@link ByteBuffer} without a heap
     * copy override it; this default reads {@link #openRange} into {@code dst}'s array, or through
     * a scratch array of at most {@link #SCRATCH_BYTES} for a direct buffer.
     *
     * <p>The same rules as {@link #openRange} hold: exactly the range or an exception, never other
     * bytes. Bytes arrive in order; on failure {@code dst}'s position is just after the last byte
     * received, so a caller can resume from there (as {@link RangeReads} does).
     *
     * @param offset first byte, 0-based, in bytes
     * @param dst receives {@code dst.remaining()} bytes (at least 1); its position ends at its
     *     limit
     * @throws StorageException as {@link #openRange}, and a retryable short read when the stream
     *     ends before {@code dst} is full
     */
    default void readRange(URI uri, ObjectVersion pinned, long offset, ByteBuffer dst)
            throws IOException {
        long length = dst.remaining();
        try (InputStream in = openRange(uri, pinned, offset, length)) {
            byte[] scratch =
                    dst.hasArray() ? null : new byte[(int) Math.min(SCRATCH_BYTES, length)];
            while (dst.hasRemaining()) {
                int n =
                        scratch == null
                                ? in.read(
                                        dst.array(),
                                        dst.arrayOffset() + dst.position(),
                                        dst.remaining())
                                : in.read(scratch, 0, Math.min(scratch.length, dst.remaining()));
                if (n < 0) {
                    throw new StorageException(
                            String.format(
                                    "short read: got %d of %d bytes for range [%d, %d) of %s",
                                    length - dst.remaining(),
                                    length,
                                    offset,
                                    Math.addExact(offset, length),
                                    Redaction.uri(uri)),
                            true);
                }
                if (scratch == null) {
                    dst.position(dst.position() + n);
                } else {
                    dst.put(scratch, 0, n);
                }
            }
        }
    }

    /** Largest scratch array {@link #readRange}'s default allocates per call, in bytes. */
    int SCRATCH_BYTES = 256 << 10;
}
