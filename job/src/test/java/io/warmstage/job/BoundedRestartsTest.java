package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.junit.jupiter.api.Test;

/** The embedded cluster restarts a failing job a bounded number of times, as conf/ does. */
class BoundedRestartsTest {
    @Test
    void theEmbeddedDefaultIsTheShippedConfigsRestartStrategy() throws Exception {
        Configuration conf = new Configuration();
        EmbeddedRunner.boundedRestarts(conf);
        JsonNode shipped =
                new ObjectMapper(new YAMLFactory())
                        .readTree(Path.of("..", "conf", "config.yaml").toFile())
                        .get("restart-strategy");
        assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY))
                .isEqualTo(shipped.get("type").asText())
                .isEqualTo("exponential-delay");
        JsonNode exp = shipped.get("exponential-delay");
        assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS))
                .isEqualTo(exp.get("attempts-before-reset-backoff").asInt())
                .isEqualTo(EmbeddedRunner.RESTART_ATTEMPTS);
        assertThat(
                        conf.get(
                                RestartStrategyOptions
                                        .RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF))
                .isEqualTo(Duration.ofSeconds(1))
                .hasToString("PT1S");
        assertThat(exp.get("initial-backoff").asText()).isEqualTo("1 s");
        assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(Duration.ofSeconds(30));
        assertThat(exp.get("max-backoff").asText()).isEqualTo("30 s");
    }

    @Test
    void theOptionsGivenWin() {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS, 1);
        EmbeddedRunner.boundedRestarts(conf);
        assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS))
                .isEqualTo(1);
        assertThat(conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(Duration.ofSeconds(30));
    }
}
