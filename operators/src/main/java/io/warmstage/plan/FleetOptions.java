package io.warmstage.plan;

import io.warmstage.host.HostOptions;
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
     * In fan-out, whether a chunk crosses the network once per remote host (to the host's lead
     * slot, whose relay hands it to the host's other slots over local channels) instead of once per
     * remote slot. Off gives the per-slot fan-out, for comparison.
     */
    public static final ConfigOption<Boolean> HOST_RELAY =
            ConfigOptions.key("warmstage.fleet.host-relay")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "fan-out only: send each chunk once to every remote host, whose relay"
                                    + " hands it to the host's other slots locally (true), or"
                                    + " once to every remote slot (false).");

    /**
     * Local fleet simulation: TaskManager resource ID to simulated host name ({@link
     * HostOptions#SIMULATED_HOSTS}).
     */
    public static final ConfigOption<Map<String, String>> SIMULATED_HOSTS =
            HostOptions.SIMULATED_HOSTS;
}
