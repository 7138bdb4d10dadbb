package io.warmstage.cache;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * Options of the host-local cache: its size cap, the time an entry counts as in use, and the
 * SHA-256 pins of files. The cache's directory is {@code HostOptions.CACHE_DIR}; {@code
 * WeightSourceOptions} names the same options under their old names.
 */
public final class CacheOptions {
    private CacheOptions() {}

    /** Size cap in bytes of each host's cache directory (published data files), or none. */
    public static final ConfigOption<MemorySize> CACHE_MAX_SIZE =
            ConfigOptions.key("warmstage.cache.max-size")
                    .memoryType()
                    .noDefaultValue()
                    .withDescription(
                            "Size cap of each host's cache directory (published data files). After"
                                    + " each publish, least-recently-used entries not in use are"
                                    + " evicted until the data fits. Unset: no cap.");

    /** How long after a reader found an entry it is taken as in use and not evicted. */
    public static final ConfigOption<Duration> CACHE_IN_USE =
            ConfigOptions.key("warmstage.cache.in-use")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(10))
                    .withDescription(
                            "A cache entry found by a reader within this time is taken as being"
                                    + " read by a running job and is not evicted (every ranged"
                                    + " read of a cached copy finds it anew).");

    /** SHA-256 pins of files as a JSON object from file URI to hex ({@link ContentPins}). */
    public static final ConfigOption<String> SHA256_PINS =
            ConfigOptions.key("warmstage.source.sha256-pins")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "JSON object from file URI to the SHA-256 its bytes must have (set"
                                    + " from a manifest's sha256 fields): a file whose staged"
                                    + " bytes differ fails; its cache entry is keyed by the"
                                    + " SHA-256.");
}
