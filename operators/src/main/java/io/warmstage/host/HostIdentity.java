package io.warmstage.host;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * The host a task runs on, as placement, the per-host fetch and the host cache see it.
 *
 * <p>On a cluster it is the TaskManager's host name (Flink's {@code <host>} metric variable): two
 * TaskManagers on one machine are one host and share its cache. In the local fleet simulation
 * ({@link HostOptions#SIMULATED_HOSTS}) each TaskManager is a host of its own, named by the map,
 * with its own directories under the configured ones ({@link HostDirs}).
 *
 * @param name the host name
 * @param simulated whether the host is a simulated one (its directories are subdirectories)
 */
public record HostIdentity(String name, boolean simulated) {
    /** Flink's metric variable holding the TaskManager's host. */
    public static final String HOST_VARIABLE = "<host>";

    /** Flink's metric variable holding the TaskManager's resource ID. */
    public static final String TM_ID_VARIABLE = "<tm_id>";

    /**
     * The host of the task whose metric group has {@code variables}: the simulated host mapped to
     * the task's TaskManager ({@code tm-<resource id>} for one the map does not name), else the
     * {@code <host>} variable, else this machine's host name, else {@code localhost}.
     *
     * @param variables {@code MetricGroup#getAllVariables()} of a task's or reader's metric group
     * @param config the job's configuration ({@link HostOptions#SIMULATED_HOSTS})
     */
    public static HostIdentity of(Map<String, String> variables, Configuration config) {
        Map<String, String> simulated =
                config.getOptional(HostOptions.SIMULATED_HOSTS).orElse(Map.of());
        if (!simulated.isEmpty()) {
            String tm = variables.getOrDefault(TM_ID_VARIABLE, "unknown");
            String name = simulated.get(tm);
            // A TaskManager started after the job (a replacement) is a new host.
            return new HostIdentity(name != null ? name : "tm-" + safe(tm), true);
        }
        String host = variables.get(HOST_VARIABLE);
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = "localhost";
            }
        }
        return new HostIdentity(host, false);
    }

    /**
     * {@code s} as one safe path segment: every character outside {@code [A-Za-z0-9._-]} becomes
     * {@code _}, cut to 64 characters.
     */
    static String safe(String s) {
        String t = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return t.length() > 64 ? t.substring(0, 64) : t;
    }
}
