package io.warmstage.source;

import io.warmstage.plan.ReadOptions;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/** Options of the {@link WeightSource}. */
public final class WeightSourceOptions {
    private WeightSourceOptions() {}

    /** Largest split: one ranged read of the data section ({@link ReadOptions#SPLIT_SIZE}). */
    public static final ConfigOption<MemorySize> SPLIT_SIZE = ReadOptions.SPLIT_SIZE;

    /** The default {@link #RECORD_SIZE} in bytes: 4 MiB. */
    public static final int DEFAULT_RECORD_BYTES = 4 << 20;

    /** Largest record; records above 4 MiB spill on the receiving side of an exchange. */
    public static final ConfigOption<MemorySize> RECORD_SIZE =
            ConfigOptions.key("warmstage.source.record-size")
                    .memoryType()
                    .defaultValue(MemorySize.parse("4mb"))
                    .withDescription(
                            "Largest chunk record. Keep it at or under 4 MiB: larger records"
                                    + " spill on the receiving side of a network exchange.");

    /** Ranged reads each reader keeps in flight ({@link ReadOptions#READS_IN_FLIGHT}). */
    public static final ConfigOption<Integer> READS_IN_FLIGHT = ReadOptions.READS_IN_FLIGHT;

    /** Host memory for chunk bytes between storage and staging, per TaskManager. */
    public static final ConfigOption<MemorySize> BUFFER_POOL =
            ConfigOptions.key("warmstage.source.buffer-pool")
                    .memoryType()
                    .defaultValue(MemorySize.parse("256mb"))
                    .withDescription(
                            "Host memory that chunk bytes may take between storage and staging,"
                                    + " per job and TaskManager, whatever the model's size. Readers"
                                    + " wait for room: backpressure when staging is slower than"
                                    + " fetching.");

    /**
     * Bytes read from the start of a file in one request when planning ({@link
     * ReadOptions#HEADER_PREFETCH}).
     */
    public static final ConfigOption<MemorySize> HEADER_PREFETCH = ReadOptions.HEADER_PREFETCH;

    /** The host-local cache directory, or none. */
    public static final ConfigOption<String> CACHE_DIR =
            ConfigOptions.key("warmstage.cache.dir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Directory of the host-local cache. Unset: the cache is off.");

    public static final ConfigOption<MemorySize> CACHE_MAX_SIZE =
            ConfigOptions.key("warmstage.cache.max-size")
                    .memoryType()
                    .noDefaultValue()
                    .withDescription(
                            "Size cap of each host's cache directory (published data files). After"
                                    + " each publish, least-recently-used entries not in use are"
                                    + " evicted until the data fits. Unset: no cap.");

    public static final ConfigOption<Duration> CACHE_IN_USE =
            ConfigOptions.key("warmstage.cache.in-use")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(10))
                    .withDescription(
                            "A cache entry found by a reader within this time is taken as being"
                                    + " read by a running job and is not evicted (every ranged"
                                    + " read of a cached copy finds it anew).");

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
