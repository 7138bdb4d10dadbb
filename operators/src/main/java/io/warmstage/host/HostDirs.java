package io.warmstage.host;

import io.warmstage.device.HostDevice;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;

/**
 * Where a host keeps its cache and its staging area: the one place that works them out from the
 * configured directories and the {@link HostIdentity}. A real host uses the configured directories
 * themselves (two TaskManagers on one machine share them); a simulated host uses its own
 * subdirectory {@code <dir>/<host>}, its name made a safe path segment.
 */
public final class HostDirs {
    private HostDirs() {}

    /**
     * The host's cache directory: {@link HostOptions#CACHE_DIR}, per host.
     *
     * @return the directory, or empty when the option is unset (the cache is off)
     */
    public static Optional<Path> cacheDir(Configuration config, HostIdentity host) {
        return config.getOptional(HostOptions.CACHE_DIR).map(d -> underHost(Path.of(d), host));
    }

    /**
     * The host's staging root: {@link #stagingDir(Configuration)}, per host. It holds the staged
     * set's registry and, for the cpu device, the staging files ({@code job-<id>/slot-<n>} below
     * it).
     */
    public static Path stagingRoot(Configuration config, HostIdentity host) {
        return underHost(stagingDir(config), host);
    }

    /**
     * The configured staging directory, shared by every host of the machine: {@link
     * HostOptions#STAGING_DIR}, or {@link HostDevice#DEFAULT_ROOT} when unset.
     */
    public static Path stagingDir(Configuration config) {
        return config.getOptional(HostOptions.STAGING_DIR)
                .map(Path::of)
                .orElse(HostDevice.DEFAULT_ROOT);
    }

    /**
     * The host's own directory under a configured one: {@code base} itself, or {@code base/<host>}
     * when the host is simulated.
     */
    public static Path underHost(Path base, HostIdentity host) {
        return host.simulated() ? base.resolve(HostIdentity.safe(host.name())) : base;
    }
}
