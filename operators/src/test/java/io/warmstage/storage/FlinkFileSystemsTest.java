package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.testing.S3Proxy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@link FlinkFileSystems}: the plugins directory, the one-time initialization, gs:// wiring. */
@ExtendWith(S3Proxy.class)
class FlinkFileSystemsTest {

    @Test
    void s3AndGsResolveToIsolatedPlugins() throws Exception {
        FileSystem s3 = FileSystem.get(URI.create("s3://models/x"));

        assertThat(FlinkFileSystems.isRegistered("s3")).isTrue();
        assertThat(FlinkFileSystems.isRegistered("gs")).isTrue();
        assertThat(factory("s3").getClass().getSimpleName()).isEqualTo("PluginFileSystemFactory");
        assertThat(factory("gs").getClass().getSimpleName()).isEqualTo("PluginFileSystemFactory");
        assertThat(s3.getClass().getName()).endsWith("ClassLoaderFixingFileSystem");
        ClassLoader app = FlinkFileSystemsTest.class.getClassLoader();
        assertThatThrownBy(
                        () ->
                                Class.forName(
                                        "org.apache.flink.fs.s3hadoop.S3FileSystemFactory",
                                        false,
                                        app))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(
                        () ->
                                Class.forName(
                                        "org.apache.flink.fs.gs.GSFileSystemFactory", false, app))
                .isInstanceOf(ClassNotFoundException.class);
    }

    /**
     * The test configuration names a missing key file ({@code
     * gs.auth.service.account.json.keyfile}), so this never reaches a metadata server or the
     * network, wherever it runs.
     */
    @Test
    void gsWithoutCredentialsFailsWithOneClearLine() throws Exception {
        URI uri = URI.create("gs://warmstage-test-bucket/model.safetensors");
        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            ObjectStore store = stores.forUri(uri);

            assertThat(store).isInstanceOf(FlinkFileSystemStore.class);
            assertThatThrownBy(() -> store.stat(uri))
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isFalse())
                    .hasMessageStartingWith(
                            "gs://warmstage-test-bucket/model.safetensors (bucket"
                                    + " 'warmstage-test-bucket', key 'model.safetensors'): file"
                                    + " system: cannot create the gs:// file system (check its"
                                    + " credentials and settings): ")
                    .hasMessageContaining("GoogleHadoopFileSystem")
                    .hasMessageNotContaining("\n");
        }
    }

    private static FileSystemFactory factory(String scheme) {
        return FileSystem.getRegisteredFileSystemFactories().stream()
                .filter(f -> scheme.equals(f.getScheme()))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aSchemeWithoutPluginNamesTheFolderToCreate(@TempDir Path dir) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StorageOptions.PLUGINS_DIR, dir.toString());

        assertThatThrownBy(() -> FlinkFileSystems.ensureScheme("oss", conf, k -> null))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessage(
                        "no Flink file system for oss://: put its plugin under "
                                + dir
                                + "/oss-fs-hadoop/ (e.g. flink-oss-fs-hadoop-<flink version>.jar),"
                                + " or set warmstage.storage.plugins-dir or $FLINK_PLUGINS_DIR");
    }

    @Test
    void aPluginIsAFolderNamedForTheSchemeHoldingAJar(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("s3-fs-hadoop"));
        Files.createDirectories(dir.resolve("gs-fs-hadoop"));
        Files.createFile(dir.resolve("gs-fs-hadoop/flink-gs-fs-hadoop-2.3.0.jar"));

        assertThat(FlinkFileSystems.hasPluginFor(dir, "s3")).isFalse();
        assertThat(FlinkFileSystems.hasPluginFor(dir, "gs")).isTrue();
        assertThat(FlinkFileSystems.hasPluginFor(dir.resolve("absent"), "gs")).isFalse();
    }

    @Test
    void pluginsDirIsTheOptionThenFlinkPluginsDirThenPlugins() {
        Configuration set = new Configuration();
        set.set(StorageOptions.PLUGINS_DIR, "/opt/a");
        Map<String, String> env = Map.of("FLINK_PLUGINS_DIR", "/opt/b");

        assertThat(FlinkFileSystems.pluginsDir(set, env::get)).isEqualTo(Path.of("/opt/a"));
        assertThat(FlinkFileSystems.pluginsDir(new Configuration(), env::get))
                .isEqualTo(Path.of("/opt/b"));
        assertThat(FlinkFileSystems.pluginsDir(new Configuration(), k -> null))
                .isEqualTo(Path.of("plugins").toAbsolutePath());
    }
}
