package io.warmstage.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a body that delivers no byte for the stall timeout, or less than {@link
 * #MIN_BYTES_PER_WINDOW} in a window of that length (a trickle), so that a stalled connection fails
 * as a retryable {@link StorageException} (and {@link RangeReads} resumes from the missing byte)
 * instead of blocking a reader forever. The client's socket timeout only bounds each single read,
 * so a trickle would never end.
 */
final class StallGuardInputStream extends FilterInputStream {
    private static final ScheduledExecutorService WATCHDOG =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "warmstage-stall-watchdog");
                        t.setDaemon(true);
                        return t;
                    });

    /** Fewest bytes a body must deliver per stall-timeout window: 64 KiB. */
    static final long MIN_BYTES_PER_WINDOW = 64 << 10;

    private final URI uri;
    private final long stallNanos;
    private final ScheduledFuture<?> check;
    private final java.util.concurrent.atomic.AtomicLong bytesInWindow =
            new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastProgress = System.nanoTime();
    private volatile long windowStart = lastProgress;
    private volatile boolean stalled;
    private volatile String why = "no bytes";

    /**
     * @param in the body; closed by the watchdog when stalled, or by {@link #close()}
     * @param stall how long the body may deliver nothing
     */
    StallGuardInputStream(InputStream in, URI uri, Duration stall) {
        super(in);
        this.uri = uri;
        this.stallNanos = stall.toNanos();
        long period = Math.max(10, stall.toMillis() / 4);
        this.check =
                WATCHDOG.scheduleWithFixedDelay(this::check, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            throw stalled ? stalledError(e) : e;
        }
        if (stalled) {
            throw stalledError(null);
        }
        lastProgress = System.nanoTime();
        if (n > 0) {
            bytesInWindow.addAndGet(n);
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        check.cancel(false);
        in.close();
    }

    private void check() {
        long now = System.nanoTime();
        boolean silent = now - lastProgress > stallNanos;
        boolean trickle = false;
        if (now - windowStart >= stallNanos) {
            trickle = bytesInWindow.getAndSet(0) < MIN_BYTES_PER_WINDOW;
            windowStart = now;
        }
        if (silent || trickle) {
            why = silent ? "no bytes" : "under " + MIN_BYTES_PER_WINDOW + " bytes";
            stalled = true;
            check.cancel(false);
            try {
                in.close();
            } catch (IOException | RuntimeException ignored) {
                // the reader sees the stall on its next read
            }
        }
    }

    private StorageException stalledError(IOException cause) {
        return new StorageException(
                why
                        + " in "
                        + Duration.ofNanos(stallNanos).toMillis()
                        + " ms from "
                        + Redaction.uri(uri)
                        + ": connection stalled",
                true,
                cause);
    }
}
