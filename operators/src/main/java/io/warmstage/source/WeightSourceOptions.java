package io.warmstage.source;

import io.warmstage.cache.CacheOptions;
import io.warmstage.host.HostOptions;
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

    /** The host-local cache directory, or none ({@link HostOptions#CACHE_DIR}). */
    public static final ConfigOption<String> CACHE_DIR = HostOptions.CACHE_DIR;

    /** The cap on each host's cache ({@link CacheOptions#CACHE_MAX_SIZE}). */
    public static final ConfigOption<MemorySize> CACHE_MAX_SIZE = CacheOptions.CACHE_MAX_SIZE;

    /** How long a found cache entry is in use ({@link CacheOptions#CACHE_IN_USE}). */
    public static final ConfigOption<Duration> CACHE_IN_USE = CacheOptions.CACHE_IN_USE;

    /** SHA-256 pins of files ({@link CacheOptions#SHA256_PINS}). */
    public static final ConfigOption<String> SHA256_PINS = CacheOptions.SHA256_PINS;
}
