package io.warmstage.storage;

import java.time.Duration;

/**
 * Waits between retries and tells the time the retry budget is measured on; tests replace it so
 * they never sleep for real.
 */
public interface Sleeper {

    /** Sleeps for {@code duration} (non-negative). */
    void sleep(Duration duration) throws InterruptedException;

    /**
     * Sleeps for {@code wait} before retrying an attempt that took {@code lastAttempt} (a stalled
     * read takes its whole stall timeout); a budget may refuse when the retry, taking as long,
     * would end past it. The default just sleeps.
     */
    default void sleepBeforeRetry(Duration wait, Duration lastAttempt) throws InterruptedException {
        sleep(wait);
    }

    /** A monotonic clock in nanoseconds, as {@link System#nanoTime()}. */
    long nanoTime();

    /** The real clock and {@link Thread#sleep}. */
    static Sleeper system() {
        return SystemSleeper.INSTANCE;
    }

    /** {@link Sleeper#system()}. */
    enum SystemSleeper implements Sleeper {
        INSTANCE;

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration.toMillis(), duration.toNanosPart() % 1_000_000);
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }
    }
}
