package io.warmstage.storage;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The retry budget of one file: a {@link Sleeper} that bounds the wall time of every ranged read of
 * that file, stalls included, so a file whose ranges keep failing or stalling gives up within
 * {@code warmstage.storage.retry.budget-per-file} however many ranges it has. The clock starts when
 * the file's first failed attempt started (a stalled read counts from its start, not from its
 * timeout); a retry is refused when it would end past the budget if it took as long as the attempt
 * that just failed. Thread-safe: a file's ranges are read at once.
 */
public final class FileRetryBudget implements Sleeper {
    private final String file;
    private final long budgetNanos;
    private final Sleeper clock;
    private final AtomicLong spentNanos = new AtomicLong();
    private final AtomicLong firstFailureNanos = new AtomicLong(Long.MIN_VALUE);

    /**
     * @param file the file, for the message
     * @param budget wall time allowed for the file from its first failed attempt, retries and
     *     stalls included
     * @param clock the sleeper that really waits
     */
    public FileRetryBudget(String file, Duration budget, Sleeper clock) {
        this.file = file;
        this.budgetNanos = budget.toNanos();
        this.clock = clock;
    }

    /** {@link #sleepBeforeRetry} after an attempt that took no time. */
    @Override
    public void sleep(Duration duration) throws InterruptedException {
        sleepBeforeRetry(duration, Duration.ZERO);
    }

    /**
     * Waits, unless the wait and a retry as long as {@code lastAttempt} would end more than the
     * budget after the file's first failed attempt started.
     *
     * @throws UncheckedIOException wrapping a non-retryable {@link StorageException} when the retry
     *     would take the file past its budget
     */
    @Override
    public void sleepBeforeRetry(Duration duration, Duration lastAttempt)
            throws InterruptedException {
        long now = clock.nanoTime();
        long attemptStart = now - lastAttempt.toNanos();
        firstFailureNanos.accumulateAndGet(
                attemptStart, (a, b) -> a == Long.MIN_VALUE ? b : Math.min(a, b));
        spentNanos.addAndGet(duration.toNanos());
        long end = now - firstFailureNanos.get() + duration.toNanos() + lastAttempt.toNanos();
        if (end > budgetNanos) {
            throw new UncheckedIOException(
                    new StorageException(
                            "retry budget of "
                                    + Duration.ofNanos(budgetNanos).toMillis()
                                    + " ms for "
                                    + file
                                    + " spent: its ranges kept failing or stalling",
                            false));
        }
        clock.sleep(duration);
    }

    @Override
    public long nanoTime() {
        return clock.nanoTime();
    }

    /** Backoff time waited or asked for so far, in nanoseconds. */
    public long spentNanos() {
        return spentNanos.get();
    }
}
