package io.warmstage.storage;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The retry budget of one file: a {@link Sleeper} that adds up the backoff waits of every ranged
 * read of that file, so a file whose ranges keep failing gives up within {@code
 * warmstage.storage.retry.budget-per-file} however many ranges it has. Thread-safe: a file's ranges
 * are read at once.
 */
public final class FileRetryBudget implements Sleeper {
    private final String file;
    private final long budgetNanos;
    private final Sleeper clock;
    private final AtomicLong spentNanos = new AtomicLong();
    private final AtomicLong firstRetryNanos = new AtomicLong(Long.MIN_VALUE);

    /**
     * @param file the file, for the message
     * @param budget total backoff time allowed for the file
     * @param clock the sleeper that really waits
     */
    public FileRetryBudget(String file, Duration budget, Sleeper clock) {
        this.file = file;
        this.budgetNanos = budget.toNanos();
        this.clock = clock;
    }

    /**
     * Waits, unless the wait would end more than the budget after the file's first retry.
     *
     * @throws UncheckedIOException wrapping a non-retryable {@link StorageException} when the wait
     *     would take the file past its budget
     */
    @Override
    public void sleep(Duration duration) throws InterruptedException {
        long now = clock.nanoTime();
        firstRetryNanos.compareAndSet(Long.MIN_VALUE, now);
        spentNanos.addAndGet(duration.toNanos());
        if (now - firstRetryNanos.get() + duration.toNanos() > budgetNanos) {
            throw new UncheckedIOException(
                    new StorageException(
                            "retry budget of "
                                    + Duration.ofNanos(budgetNanos).toMillis()
                                    + " ms for "
                                    + file
                                    + " spent: its ranges kept failing",
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
