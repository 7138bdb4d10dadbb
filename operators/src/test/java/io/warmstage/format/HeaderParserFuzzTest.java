package io.warmstage.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A bounded fuzz run of the header parser in every build, so that a parser regression fails CI:
 * about a minute ({@code -Dwarmstage.fuzz.seconds=N} to change it) of mutated real files, a new
 * seed each run (printed on failure, to replay with {@code bench/fuzz-format.sh TRIES SEED}). The
 * long run is {@code bench/fuzz-format.sh}.
 */
class HeaderParserFuzzTest {
    @Test
    void mutatedRealFilesAreParsedByTheRulesOrRejectedWithASafetensorsException() {
        Duration budget = Duration.ofSeconds(Long.getLong("warmstage.fuzz.seconds", 60));
        long seed = Long.getLong("warmstage.fuzz.seed", System.nanoTime());
        FormatFuzzMain.Result r =
                FormatFuzzMain.run(seed, Long.MAX_VALUE, System.nanoTime() + budget.toNanos());

        assertThat(r.failures()).as(r.toString()).isEmpty();
        assertThat(r.tried()).as(r.toString()).isEqualTo(r.parsed() + r.rejected());
        assertThat(r.tried()).as(r.toString()).isGreaterThan(100);
    }
}
