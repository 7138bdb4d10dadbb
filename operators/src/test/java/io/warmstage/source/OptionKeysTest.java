package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.cache.CacheOptions;
import io.warmstage.host.HostOptions;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ReadOptions;
import io.warmstage.staging.StagingOptions;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** Options that moved to lower packages keep their keys, and the old constants name them. */
class OptionKeysTest {
    @Test
    void movedOptionsKeepTheirKeysAndTheirOldNames() {
        assertThat(WeightSourceOptions.CACHE_DIR).isSameAs(HostOptions.CACHE_DIR);
        assertThat(StagingOptions.STAGING_DIR).isSameAs(HostOptions.STAGING_DIR);
        assertThat(FleetOptions.SIMULATED_HOSTS).isSameAs(HostOptions.SIMULATED_HOSTS);
        assertThat(WeightSourceOptions.CACHE_MAX_SIZE).isSameAs(CacheOptions.CACHE_MAX_SIZE);
        assertThat(WeightSourceOptions.CACHE_IN_USE).isSameAs(CacheOptions.CACHE_IN_USE);
        assertThat(WeightSourceOptions.SHA256_PINS).isSameAs(CacheOptions.SHA256_PINS);
        assertThat(WeightSourceOptions.SPLIT_SIZE).isSameAs(ReadOptions.SPLIT_SIZE);
        assertThat(WeightSourceOptions.READS_IN_FLIGHT).isSameAs(ReadOptions.READS_IN_FLIGHT);
        assertThat(WeightSourceOptions.HEADER_PREFETCH).isSameAs(ReadOptions.HEADER_PREFETCH);

        assertThat(HostOptions.CACHE_DIR.key()).isEqualTo("warmstage.cache.dir");
        assertThat(HostOptions.STAGING_DIR.key()).isEqualTo("warmstage.staging.dir");
        assertThat(HostOptions.SIMULATED_HOSTS.key()).isEqualTo("warmstage.fleet.simulated-hosts");
        assertThat(CacheOptions.CACHE_MAX_SIZE.key()).isEqualTo("warmstage.cache.max-size");
        assertThat(CacheOptions.CACHE_IN_USE.key()).isEqualTo("warmstage.cache.in-use");
        assertThat(CacheOptions.SHA256_PINS.key()).isEqualTo("warmstage.source.sha256-pins");
        assertThat(ReadOptions.SPLIT_SIZE.key()).isEqualTo("warmstage.source.split-size");
        assertThat(ReadOptions.READS_IN_FLIGHT.key()).isEqualTo("warmstage.source.reads-in-flight");
        assertThat(ReadOptions.HEADER_PREFETCH.key()).isEqualTo("warmstage.source.header-prefetch");
    }

    @Test
    void aValueSetByKeyIsReadThroughEveryName() {
        Configuration conf =
                Configuration.fromMap(
                        Map.of(
                                "warmstage.cache.dir", "/c",
                                "warmstage.staging.dir", "/s",
                                "warmstage.source.split-size", "8mb"));
        assertThat(conf.get(WeightSourceOptions.CACHE_DIR)).isEqualTo("/c");
        assertThat(conf.get(HostOptions.CACHE_DIR)).isEqualTo("/c");
        assertThat(conf.get(StagingOptions.STAGING_DIR)).isEqualTo("/s");
        assertThat(conf.get(ReadOptions.SPLIT_SIZE).getBytes()).isEqualTo(8L << 20);
    }
}
