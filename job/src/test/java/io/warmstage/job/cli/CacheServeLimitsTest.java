package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.warmstage.cache.CacheOptions;
import io.warmstage.cache.PeerCopies;
import io.warmstage.job.cli.StageCommandITCase.Run;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage errors at the limits of {@code cache serve}'s thread count and of the peers option's ports:
 * exit 2 (or the check's message) naming the option and the rule.
 */
class CacheServeLimitsTest {
    @TempDir Path dir;

    /**
     * --threads near Integer.MAX_VALUE is a usage error naming --threads (exit 2), as --threads 0
     * is, not a failure of the server's thread pool.
     */
    @Test
    void aThreadCountThatOverflowsIsAUsageErrorNamingTheOption() {
        Run run =
                assertTimeoutPreemptively(
                        Duration.ofSeconds(30),
                        () ->
                                cli(
                                        "cache",
                                        "serve",
                                        "--cache-dir",
                                        dir.toString(),
                                        "--port",
                                        "0",
                                        "--threads",
                                        "2147483647"));
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("--threads").doesNotContain("-2147483645");
    }

    /**
     * A peer whose port is not a port (-1, or past 65535 so that java.net.URI parses the authority
     * as registry-based) is told what is wrong with its host:port, not that it names no host.
     */
    @Test
    void aPeerWithABadPortIsToldItsPortIsWrongNotThatItNamesNoHost() {
        for (String peer : new String[] {"http://h:-1", "http://h:2147483648"}) {
            Configuration c = new Configuration();
            c.setString(CacheOptions.PEERS.key(), peer);
            try {
                PeerCopies.configured(c);
                throw new AssertionError(peer + " accepted");
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage())
                        .as(peer)
                        .contains("port")
                        .doesNotContain("names no host");
            }
        }
    }
}
