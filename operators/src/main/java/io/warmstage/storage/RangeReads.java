package io.warmstage.storage;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads one range of an object into a buffer, retrying transient faults for the missing bytes only
 * (DESIGN.md storage rules).
 */
public final class RangeReads {

    private RangeReads() {}

    /** Takes one piece of {@link #readPieces}. */
    @FunctionalInterface
    public interface PieceSink<E extends Exception> {
        /**
         * @param offset absolute offset of the piece's first byte
         * @param bytes the piece, a new array owned by the sink
         */
        void accept(long offset, byte[] bytes) throws E;
    }

    /**
     * Reads bytes {@code [from, to)} of {@code uri} at {@code pinned} in pieces of at most {@code
     * piece} bytes, each with {@link #readFully} (so with its retries), and hands each to {@code
     * sink} in order.
     *
     * @throws IOException as {@link #readFully}
     */
    public static <E extends Exception> void readPieces(
            ObjectStore store,
            URI uri,
            ObjectVersion pinned,
            long from,
            long to,
            int piece,
            RetryPolicy policy,
            PieceSink<E> sink)
            throws IOException, E {
        for (long off = from; off < to; off += piece) {
            byte[] bytes = new byte[(int) Math.min(piece, to - off)];
            readFully(store, uri, pinned, off, bytes.length, ByteBuffer.wrap(bytes), policy);
            sink.accept(off, bytes);
        }
    }

    /**
     * {@link #readFully(ObjectStore, URI, ObjectVersion, long, long, ByteBuffer, RetryPolicy,
     * Sleeper)} on the real clock.
     */
    public static void readFully(
            ObjectStore store,
            URI uri,
            ObjectVersion pinned,
            long offset,
            long length,
            ByteBuffer dst,
            RetryPolicy policy)
            throws IOException {
        readFully(store, uri, pinned, offset, length, dst, policy, Sleeper.system());
    }

    /**
     * Reads exactly bytes {@code [offset, offset + length)} of {@code uri}, pinned to {@code
     * pinned}, into {@code dst} from its position, advancing the position by {@code length}.
     *
     * <p>A retryable {@link StorageException} (5xx, SlowDown, reset, short read) or another
     * non-interrupt {@link IOException} is retried from the first byte not yet received, after a
     * capped exponential backoff with full jitter, while fewer than {@code policy.maxAttempts()}
     * attempts in a row received nothing and the wait ends within {@code policy.budget()}. A
     * non-retryable {@link StorageException} propagates at once.
     *
     * @param offset first byte, in bytes
     * @param length bytes to read, at most {@code dst.remaining()}
     * @throws StorageException the first non-retryable failure, or, once retries are spent, a
     *     non-retryable one naming the attempts and the last cause (callers must not retry it
     *     again); on any failure {@code dst}'s position is back where it was
     * @throws InterruptedIOException if interrupted while waiting (interrupt status kept)
     */
    public static void readFully(
            ObjectStore store,
            URI uri,
            ObjectVersion pinned,
            long offset,
            long length,
            ByteBuffer dst,
            RetryPolicy policy,
            Sleeper sleeper)
            throws IOException {
        checkArguments(offset, length, dst);
        int start = dst.position();
        try {
            new Attempts(store, uri, pinned, offset, length, dst, policy, sleeper).run();
        } catch (IOException | RuntimeException e) {
            dst.position(start);
            throw e;
        }
    }

    /**
     * {@link ObjectStore#stat} with the same retries as a ranged read: a retryable failure (5xx,
     * SlowDown, reset) is tried again after a capped exponential backoff with full jitter, while
     * fewer than {@code policy.maxAttempts()} attempts failed and within {@code policy.budget()}.
     *
     * @throws StorageException the first non-retryable failure, or one naming the attempts and the
     *     last cause once retries are spent
     */
    public static ObjectVersion stat(ObjectStore store, URI uri, RetryPolicy policy)
            throws IOException {
        return stat(store, uri, policy, Sleeper.system());
    }

    static ObjectVersion stat(ObjectStore store, URI uri, RetryPolicy policy, Sleeper sleeper)
            throws IOException {
        long start = sleeper.nanoTime();
        for (int failures = 1; ; failures++) {
            try {
                return store.stat(uri);
            } catch (InterruptedIOException e) {
                throw e;
            } catch (IOException e) {
                if (e instanceof StorageException se && !se.retryable()) {
                    throw se;
                }
                Duration wait = policy.backoff(failures, ThreadLocalRandom.current());
                long after = sleeper.nanoTime() - start + wait.toNanos();
                if (failures >= policy.maxAttempts() || after > policy.budget().toNanos()) {
                    throw new StorageException(
                            "gave up on the version check of "
                                    + Redaction.uri(uri)
                                    + " after "
                                    + failures
                                    + " attempts: "
                                    + e.getMessage(),
                            false,
                            e);
                }
                try {
                    sleeper.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException(
                            "interrupted while retrying " + Redaction.uri(uri));
                }
            }
        }
    }

    /** The state of one {@code readFully}: attempts made, failures in a row, start time. */
    private static final class Attempts {
        private final ObjectStore store;
        private final URI uri;
        private final ObjectVersion pinned;
        private final long offset;
        private final long length;
        private final ByteBuffer dst;
        private final int start;
        private final RetryPolicy policy;
        private final Sleeper sleeper;
        private final long startNanos;
        private long attemptStartNanos;
        private int attempts;
        private int failuresInARow;

        Attempts(
                ObjectStore store,
                URI uri,
                ObjectVersion pinned,
                long offset,
                long length,
                ByteBuffer dst,
                RetryPolicy policy,
                Sleeper sleeper) {
            this.store = store;
            this.uri = uri;
            this.pinned = pinned;
            this.offset = offset;
            this.length = length;
            this.dst = dst;
            this.start = dst.position();
            this.policy = policy;
            this.sleeper = sleeper;
            this.startNanos = sleeper.nanoTime();
        }

        void run() throws IOException {
            while (received() < length) {
                long before = received();
                attempts++;
                attemptStartNanos = sleeper.nanoTime();
                try {
                    readOnce(Math.addExact(offset, before), length - before);
                } catch (InterruptedIOException e) {
                    throw e;
                } catch (IOException e) {
                    if (e instanceof StorageException se && !se.retryable()) {
                        throw se;
                    }
                    failuresInARow = received() > before ? 1 : failuresInARow + 1;
                    waitBeforeRetry(e);
                }
            }
        }

        /**
         * One attempt through {@link ObjectStore#readRange}: positional reads straight into {@code
         * dst} where the store has them (local files), else its stream; {@code dst} advances by
         * what arrived, also when the attempt fails.
         */
        private void readOnce(long from, long count) throws IOException {
            ByteBuffer view = dst.slice(dst.position(), Math.toIntExact(count));
            try {
                store.readRange(uri, pinned, from, view);
            } finally {
                dst.position(dst.position() + view.position());
            }
        }

        private void waitBeforeRetry(IOException cause) throws IOException {
            Duration wait = policy.backoff(failuresInARow, ThreadLocalRandom.current());
            long elapsed = sleeper.nanoTime() - startNanos;
            long afterWait = elapsed + wait.toNanos();
            if (failuresInARow >= policy.maxAttempts() || afterWait > policy.budget().toNanos()) {
                throw givenUp(cause, elapsed);
            }
            try {
                sleeper.sleepBeforeRetry(
                        wait, Duration.ofNanos(sleeper.nanoTime() - attemptStartNanos));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(
                        "interrupted while retrying " + Redaction.uri(uri));
            }
        }

        private StorageException givenUp(IOException cause, long elapsedNanos) {
            String message =
                    String.format(
                            "gave up reading range [%d, %d) of %s after %d attempts in %d ms"
                                    + " (%d failed in a row, budget %d ms, %d of %d bytes"
                                    + " received); last cause: %s",
                            offset,
                            Math.addExact(offset, length),
                            Redaction.uri(uri),
                            attempts,
                            elapsedNanos / 1_000_000,
                            failuresInARow,
                            policy.budget().toMillis(),
                            received(),
                            length,
                            cause.getMessage());
            return new StorageException(message, false, cause);
        }

        private long received() {
            return dst.position() - start;
        }
    }

    private static void checkArguments(long offset, long length, ByteBuffer dst) {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException(
                    "negative offset or length: offset " + offset + ", length " + length);
        }
        if (dst.remaining() < length) {
            throw new IllegalArgumentException(
                    "buffer has " + dst.remaining() + " bytes left, range needs " + length);
        }
        Math.addExact(offset, length);
    }
}
