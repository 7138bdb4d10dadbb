package io.warmstage.host;

import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Options that say where a host keeps its files: the cache directory, the staging directory and, in
 * a local fleet simulation, the simulated hosts. {@code WeightSourceOptions}, {@code
 * StagingOptions} and {@code FleetOptions} name the same options under their old names.
 */
public final class HostOptions {
    private HostOptions() {}

    /** The host-local cache directory, or none (the cache is off). */
    public static final ConfigOption<String> CACHE_DIR =
            ConfigOptions.key("warmstage.cache.dir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Directory of the host-local cache. Unset: the cache is off.");

    /** Where the cpu device keeps its staging files. */
    public static final ConfigOption<String> STAGING_DIR =
            ConfigOptions.key("warmstage.staging.dir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Directory of the cpu device's staging files (one complete"
                                    + " safetensors file per staged file, in shared memory)."
                                    + " Default: /dev/shm/warmstage where /dev/shm exists, else"
                                    + " the temp directory. Each job and slot stages into"
                                    + " job-<id>/slot-<n> below it.");

    /**
     * Local fleet simulation: TaskManager resource ID to simulated host name. Each TaskManager in
     * the map is its own host with its own cache directory ({@code <cache-dir>/<host>}). Empty on a
     * real cluster, where the host is the TaskManager's host name.
     */
    public static final ConfigOption<Map<String, String>> SIMULATED_HOSTS =
            ConfigOptions.key("warmstage.fleet.simulated-hosts")
                    .mapType()
                    .noDefaultValue()
                    .withDescription(
                            "TaskManager resource ID to simulated host name (set by the local"
                                    + " fleet simulation).");
}
