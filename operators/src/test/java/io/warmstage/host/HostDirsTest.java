package io.warmstage.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.device.HostDevice;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class HostDirsTest {
    private static final Map<String, String> VARS =
            Map.of("<host>", "gpu-a.example", "<tm_id>", "tm-123");

    @Test
    void hostIdentityIsTheTaskManagersHostOrItsSimulatedName() {
        HostIdentity real = HostIdentity.of(VARS, new Configuration());
        assertThat(real).isEqualTo(new HostIdentity("gpu-a.example", false));

        HostIdentity simulated = HostIdentity.of(VARS, simulation());
        assertThat(simulated).isEqualTo(new HostIdentity("host-2", true));
        // a TaskManager started later (a replacement) is a host of its own
        HostIdentity late = HostIdentity.of(Map.of("<tm_id>", "new/../tm"), simulation());
        assertThat(late).isEqualTo(new HostIdentity("tm-new_.._tm", true));
    }

    @Test
    void aRealHostUsesTheConfiguredDirectoriesThemselves() {
        Configuration conf = new Configuration();
        conf.set(HostOptions.CACHE_DIR, "/c");
        conf.set(HostOptions.STAGING_DIR, "/s");
        HostIdentity real = HostIdentity.of(VARS, conf);

        assertThat(HostDirs.cacheDir(conf, real)).contains(Path.of("/c"));
        assertThat(HostDirs.stagingDir(conf)).isEqualTo(Path.of("/s"));
        assertThat(HostDirs.stagingRoot(conf, real)).isEqualTo(Path.of("/s"));
    }

    @Test
    void aSimulatedHostUsesItsOwnSubdirectoryNamedSafely() {
        Configuration conf = simulation();
        conf.set(HostOptions.CACHE_DIR, "/c");
        conf.set(HostOptions.STAGING_DIR, "/s");
        HostIdentity simulated = HostIdentity.of(VARS, conf);
        HostIdentity late = HostIdentity.of(Map.of("<tm_id>", "new/../tm"), conf);

        assertThat(HostDirs.cacheDir(conf, simulated)).contains(Path.of("/c/host-2"));
        assertThat(HostDirs.stagingRoot(conf, simulated)).isEqualTo(Path.of("/s/host-2"));
        // the name is one path segment: no way out of the configured directory
        assertThat(HostDirs.cacheDir(conf, late)).contains(Path.of("/c/tm-new_.._tm"));
        assertThat(HostDirs.cacheDir(conf, late).orElseThrow().getParent())
                .isEqualTo(Path.of("/c"));
        assertThat(HostDirs.underHost(Path.of("/x"), new HostIdentity("a/b", true)))
                .isEqualTo(Path.of("/x/a_b"));
    }

    @Test
    void withoutOptionsTheCacheIsOffAndStagingUsesTheDefaultRoot() {
        Configuration conf = new Configuration();
        HostIdentity real = new HostIdentity("gpu-a.example", false);

        assertThat(HostDirs.cacheDir(conf, real)).isEmpty();
        assertThat(HostDirs.stagingDir(conf)).isEqualTo(HostDevice.DEFAULT_ROOT);
        assertThat(HostDirs.stagingRoot(conf, real)).isEqualTo(HostDevice.DEFAULT_ROOT);
        assertThat(HostDirs.stagingRoot(conf, new HostIdentity("h", true)))
                .isEqualTo(HostDevice.DEFAULT_ROOT.resolve("h"));
    }

    private static Configuration simulation() {
        Configuration conf = new Configuration();
        conf.set(HostOptions.SIMULATED_HOSTS, Map.of("tm-123", "host-2"));
        return conf;
    }
}
