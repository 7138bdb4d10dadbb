package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FileRetryBudgetTest {

    @Test
    void waitsOfAllRangesOfAFileAddUpUntilTheBudgetIsSpent() throws Exception {
        RecordingSleeper clock = new RecordingSleeper();
        FileRetryBudget budget =
                new FileRetryBudget("http://h/m.safetensors", Duration.ofSeconds(3), clock);
        budget.sleep(Duration.ofSeconds(1));
        budget.sleep(Duration.ofSeconds(2));
        assertThat(budget.spentNanos()).isEqualTo(Duration.ofSeconds(3).toNanos());
        assertThatThrownBy(() -> budget.sleep(Duration.ofMillis(1)))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(StorageException.class)
                .hasMessageContaining("retry budget of 3000 ms for http://h/m.safetensors spent");
    }

    @Test
    void aFileWhoseRangesKeepFailingGivesUpWithinItsBudget() throws Exception {
        try (RangeServer server = new RangeServer()) {
            byte[] data = new byte[4096];
            server.handler.put("/m.safetensors", data);
            server.handler.failFirstAttempts = 1_000;
            HttpObjectStore store =
                    new HttpObjectStore(
                            Duration.ofSeconds(5),
                            Duration.ofSeconds(5),
                            java.util.Optional.empty());
            RecordingSleeper clock = new RecordingSleeper();
            FileRetryBudget budget = new FileRetryBudget("m", Duration.ofMillis(700), clock);
            RetryPolicy policy =
                    new RetryPolicy(
                            1_000,
                            Duration.ofMillis(100),
                            Duration.ofMillis(100),
                            Duration.ofHours(1));
            ObjectVersion v = store.stat(server.uri("/m.safetensors"));
            assertThatThrownBy(
                            () -> {
                                for (int off = 0; off < 4096; off += 1024) {
                                    RangeReads.readFully(
                                            store,
                                            server.uri("/m.safetensors"),
                                            v,
                                            off,
                                            1024,
                                            ByteBuffer.allocate(1024),
                                            policy,
                                            budget);
                                }
                            })
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("retry budget");
            assertThat(budget.spentNanos()).isGreaterThan(Duration.ofMillis(700).toNanos());
            store.close();
        }
    }

    @Test
    void aStalledOriginIsGivenUpWithinTheBudgetStallsIncluded() throws Exception {
        try (RangeServer server = new RangeServer()) {
            server.handler.put("/m.safetensors", new byte[4096]);
            server.handler.stallNextBodies(1_000);
            Duration stall = Duration.ofMillis(400);
            Duration budgetTime = Duration.ofMillis(1_000);
            HttpObjectStore store =
                    new HttpObjectStore(
                            Duration.ofSeconds(5), Duration.ofSeconds(5), stall, Optional.empty());
            FileRetryBudget budget = new FileRetryBudget("m", budgetTime, Sleeper.system());
            RetryPolicy policy =
                    new RetryPolicy(
                            1_000,
                            Duration.ofMillis(10),
                            Duration.ofMillis(20),
                            Duration.ofHours(1));
            ObjectVersion v = store.stat(server.uri("/m.safetensors"));
            long start = System.nanoTime();
            try {
                assertThatThrownBy(
                                () ->
                                        RangeReads.readFully(
                                                store,
                                                server.uri("/m.safetensors"),
                                                v,
                                                0,
                                                4096,
                                                ByteBuffer.allocate(4096),
                                                policy,
                                                budget))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasMessageContaining("retry budget of 1000 ms for m spent");
                long elapsed = System.nanoTime() - start;
                // The first stall counts: given up before a third 400 ms stall would end past 1 s.
                assertThat(Duration.ofNanos(elapsed)).isLessThan(budgetTime);
                assertThat(Duration.ofNanos(elapsed)).isGreaterThanOrEqualTo(stall.multipliedBy(2));
            } finally {
                server.handler.releaseStalled();
                store.close();
            }
        }
    }
}
