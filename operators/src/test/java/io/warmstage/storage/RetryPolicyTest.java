package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** {@link RetryPolicy}: capped exponential backoff with full jitter. */
class RetryPolicyTest {
    private final RetryPolicy policy =
            new RetryPolicy(
                    10, Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofMinutes(1));

    @Test
    void upperBoundDoublesPerFailureUpToTheCap() {
        RandomGenerator top = new MaxRandom();

        assertThat(policy.backoff(1, top)).isEqualTo(Duration.ofMillis(100));
        assertThat(policy.backoff(2, top)).isEqualTo(Duration.ofMillis(200));
        assertThat(policy.backoff(4, top)).isEqualTo(Duration.ofMillis(800));
        assertThat(policy.backoff(5, top)).isEqualTo(Duration.ofSeconds(1));
        assertThat(policy.backoff(200, top)).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void jitterSpreadsWaitsOverTheWholeInterval() {
        SplittableRandom random = new SplittableRandom(7);
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < 2_000; i++) {
            long w = policy.backoff(3, random).toNanos();
            min = Math.min(min, w);
            max = Math.max(max, w);
        }

        assertThat(min).isBetween(0L, Duration.ofMillis(20).toNanos());
        assertThat(max)
                .isBetween(Duration.ofMillis(380).toNanos(), Duration.ofMillis(400).toNanos());
    }

    @Test
    void invalidPoliciesAreRefused() {
        assertThatThrownBy(() -> new RetryPolicy(0, Duration.ZERO, Duration.ZERO, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(
                        () ->
                                new RetryPolicy(
                                        1, Duration.ofMillis(-1), Duration.ZERO, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Always draws the top of the interval. */
    private static final class MaxRandom implements RandomGenerator {
        @Override
        public long nextLong() {
            return Long.MAX_VALUE;
        }

        @Override
        public long nextLong(long bound) {
            return bound - 1;
        }
    }
}
