package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hc.core5.concurrent.Cancellable;
import org.apache.hc.core5.http.ClassicHttpResponse;

/**
 * The body of one response from a pooled classic HTTP client, of a known length in bytes.
 *
 * <p>{@link #close()} after the last byte returns the connection to the pool for the next request.
 * {@link #close()} any earlier, from any thread (the stall watchdog's included), cancels the
 * exchange: the socket is closed at once (reset, no linger) and the connection discarded. The rest
 * of the body is never read: the client's own {@code close()} would drain it, which for a stopped
 * 16 MiB range costs the whole transfer.
 */
final class HttpBodyInputStream extends InputStream {
    private final InputStream in;
    private final Cancellable exchange;
    private final ClassicHttpResponse response;
    private final long length;
    private final AtomicBoolean closed = new AtomicBoolean();
    private long received;

    /**
     * @param in the response entity's content
     * @param exchange cancels the request (the client's {@code HttpUriRequestBase})
     * @param response closed, so its connection released, after the whole body
     * @param length bytes the body holds (its Content-Length)
     */
    HttpBodyInputStream(
            InputStream in, Cancellable exchange, ClassicHttpResponse response, long length) {
        this.in = in;
        this.exchange = exchange;
        this.response = response;
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
        int n = in.read(b, off, len);
        if (n > 0) {
            received += n;
        }
        return n;
    }

    @Override
    public int available() throws IOException {
        return in.available();
    }

    /** Releases the connection after the whole body; aborts it otherwise. Idempotent. */
    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (received >= length) {
            response.close();
        } else {
            abort(exchange);
        }
    }

    /** Cancels {@code exchange}: closes its socket and discards its connection, reading nothing. */
    static void abort(Cancellable exchange) {
        exchange.cancel();
    }
}
