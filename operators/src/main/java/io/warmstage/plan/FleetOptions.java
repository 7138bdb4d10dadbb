package io.warmstage.plan;

import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Options of a fleet run: the fetch mode and, in a local simulation, the simulated hosts. */
public final class FleetOptions {
    private FleetOptions() {}

    /** How often each byte is fetched from the origin: per-target, per-host or fan-out. */
    public static final ConfigOption<String> FETCH_MODE =
            ConfigOptions.key("warmstage.fleet.fetch-mode")
                    .stringType()
                    .defaultValue(FetchMode.PER_TARGET.label())
                    .withDescription(
                            "per-target: each slot fetches its own copy; per-host: one fetch per"
                                    + " host, handed to the host's slots; fan-out: one fetch for"
                                    + " the whole fleet, replicated over Flink's network.");

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
