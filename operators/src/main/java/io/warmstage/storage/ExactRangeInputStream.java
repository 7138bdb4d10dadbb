package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Objects;

/**
 * Yields exactly {@code length} bytes of a range from an underlying stream, or throws.
 *
 * <p>A body that ends early, or fails with an I/O error before the last byte, is a retryable {@link
 * StorageException} ("short read: got X of Y bytes for range [a, b) of URI"), never a silently
 * shorter result (DESIGN.md storage rules). Reads never go past the range. {@link #close()} closes
 * the underlying stream without draining it.
 */
final class ExactRangeInputStream extends InputStream {
    private final InputStream in;
    private final URI uri;
    private final long offset;
    private final long length;
    private long received;

    /**
     * @param in the body; closed by {@link #close()}
     * @param offset first byte of the range in the object, in bytes
     * @param length bytes the range must yield
     */
    ExactRangeInputStream(InputStream in, URI uri, long offset, long length) {
        this.in = Objects.requireNonNull(in, "in");
        this.uri = uri;
        this.offset = offset;
        this.length = length;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        long left = length - received;
        if (left == 0) {
            return -1;
        }
        if (len == 0) {
            return 0;
        }
        int n = readUnderlying(b, off, (int) Math.min(len, left));
        if (n < 0) {
            throw shortRead(null);
        }
        received += n;
        return n;
    }

    @Override
    public int available() throws IOException {
        return (int) Math.min(in.available(), length - received);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    /** Bytes delivered so far. */
    long received() {
        return received;
    }

    private int readUnderlying(byte[] b, int off, int len) throws IOException {
        try {
            return in.read(b, off, len);
        } catch (StorageException e) {
            throw e;
        } catch (IOException e) {
            throw shortRead(e);
        }
    }

    private StorageException shortRead(IOException cause) {
        String message =
                String.format(
                        "short read: got %d of %d bytes for range [%d, %d) of %s%s",
                        received,
                        length,
                        offset,
                        Math.addExact(offset, length),
                        Redaction.uri(uri),
                        cause == null ? "" : " (" + cause + ")");
        return new StorageException(message, true, cause);
    }
}
