package io.warmstage.storage;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How {@link RangeReads} retries transient faults of one ranged read: capped exponential backoff
 * with full jitter, within a time budget (DESIGN.md storage rules).
 *
 * @param maxAttempts attempts in a row that may fail without receiving a byte, at least 1; an
 *     attempt that received bytes resets the count
 * @param initialBackoff upper bound of the first wait
 * @param maxBackoff cap on the upper bound of any wait
 * @param budget time for the whole read, retries and waits included
 */
public record RetryPolicy(
        int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration budget) {

    public RetryPolicy {
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(budget, "budget");
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1: " + maxAttempts);
        }
        if (initialBackoff.isNegative() || maxBackoff.isNegative() || budget.isNegative()) {
            throw new IllegalArgumentException("negative duration in " + this);
        }
    }

    /** 8 attempts, 100 ms initial backoff, 10 s cap, 2 min budget per range. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(
                8, Duration.ofMillis(100), Duration.ofSeconds(10), Duration.ofMinutes(2));
    }

    /** Only one attempt: every fault propagates. */
    public static RetryPolicy none() {
        return new RetryPolicy(1, Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    /**
     * The wait before retry number {@code failures} (1 after the first failure): uniform in {@code
     * [0, min(maxBackoff, initialBackoff * 2^(failures-1))]} ("full jitter").
     */
    public Duration backoff(int failures, RandomGenerator random) {
        long cap = ceilingNanos(failures);
        return cap == 0 ? Duration.ZERO : Duration.ofNanos(random.nextLong(cap + 1));
    }

    private long ceilingNanos(int failures) {
        long initial = initialBackoff.toNanos();
        long max = maxBackoff.toNanos();
        int shift = Math.max(0, Math.min(failures - 1, 62));
        if (initial == 0 || initial > (max >> shift)) {
            return Math.min(initial, max) == 0 ? 0 : max;
        }
        return Math.min(max, initial << shift);
    }
}
