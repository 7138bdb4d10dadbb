package io.warmstage.plan;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * Options of how a file is read from storage, shared by the Flink source and the plain-Java API:
 * the bytes of the first header request, the size of one ranged read, the reads in flight. The keys
 * keep their {@code warmstage.source.} prefix; {@code WeightSourceOptions} names the same options.
 */
public final class ReadOptions {
    private ReadOptions() {}

    /** Largest split: one ranged read of the data section, in bytes (default 16 MiB). */
    public static final ConfigOption<MemorySize> SPLIT_SIZE =
            ConfigOptions.key("warmstage.source.split-size")
                    .memoryType()
                    .defaultValue(MemorySize.parse("16mb"))
                    .withDescription(
                            "Largest byte range one split covers (one ranged read). The header"
                                    + " is always a split of its own.");

    /** Ranged reads each reader keeps in flight (default 4). */
    public static final ConfigOption<Integer> READS_IN_FLIGHT =
            ConfigOptions.key("warmstage.source.reads-in-flight")
                    .intType()
                    .defaultValue(4)
                    .withDescription(
                            "Splits each reader reads at once. Host memory per reader is about"
                                    + " reads-in-flight x split-size.");

    /** Bytes read from the start of a file in one request when planning (default 64 KiB). */
    public static final ConfigOption<MemorySize> HEADER_PREFETCH =
            ConfigOptions.key("warmstage.source.header-prefetch")
                    .memoryType()
                    .defaultValue(MemorySize.parse("64kb"))
                    .withDescription(
                            "Bytes read from the start of each file in the first request, so"
                                    + " that most headers take one round trip.");
}
