package io.warmstage.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.apache.flink.core.plugin.DefaultPluginManager;
import org.apache.flink.core.plugin.DirectoryBasedPluginFinder;
import org.apache.flink.core.plugin.PluginManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a scheme such as {@code s3} or {@code gs} available through Flink's {@link FileSystem},
 * loading its file system as an isolated plugin ({@link DefaultPluginManager}) and never from the
 * job's classpath: {@code flink-s3-fs-hadoop} bundles unshaded Guava and Jackson (DESIGN.md).
 *
 * <p>{@link FileSystem#initialize(Configuration, PluginManager)} is JVM-wide, so this class calls
 * it at most once per JVM, and only when (a) no factory for the scheme is registered yet and (b)
 * the plugins directory holds a plugin for it, named by Flink's convention {@code
 * <scheme>-fs-<impl>/} (e.g. {@code s3-fs-hadoop/flink-s3-fs-hadoop-2.3.0.jar}). On a Flink cluster
 * the TaskManager has already initialized {@link FileSystem} with its plugins and its {@code
 * config.yaml}: the scheme is registered and nothing here runs. Settings given after the one
 * initialization are not applied; a call with different {@code s3.*}/{@code gs.*} keys logs a
 * warning naming the keys (never their values).
 */
public final class FlinkFileSystems {
    private static final String AWS_V1_ANNOUNCEMENT = "aws.java.v1.disableDeprecationAnnouncement";

    private static final Logger LOG = LoggerFactory.getLogger(FlinkFileSystems.class);

    /** Prefixes of the keys the file system plugins read (Flink's {@code HadoopConfigLoader}). */
    private static final String[] FS_KEY_PREFIXES = {"s3.", "s3a.", "fs.s3a.", "gs.", "fs.gs."};

    /**
     * Default added when unset: objects copied into a store's backend without a PUT may have no
     * ETag, and S3A refuses to read them when a version is required (DESIGN.md, measured).
     */
    static final String S3_VERSION_REQUIRED = "s3.change.detection.version.required";

    private static Map<String, String> initializedWith;

    private FlinkFileSystems() {}

    /**
     * Ensures Flink's {@link FileSystem} serves {@code scheme}, initializing it once from the
     * plugins directory of {@code conf} ({@link StorageOptions#PLUGINS_DIR}, else {@code
     * $FLINK_PLUGINS_DIR}, else {@code ./plugins}) when needed.
     *
     * @param scheme lower-case URI scheme, e.g. {@code s3}
     * @throws StorageException not retryable, naming the plugins directory and the expected plugin
     *     folder, when no file system for {@code scheme} can be found
     */
    public static void ensureScheme(String scheme, Configuration conf) throws StorageException {
        ensureScheme(scheme, conf, System::getenv);
    }

    static synchronized void ensureScheme(
            String scheme, Configuration conf, Function<String, String> env)
            throws StorageException {
        if (isRegistered(scheme)) {
            warnIfDifferent(conf);
            return;
        }
        Path dir = pluginsDir(conf, env);
        if (initializedWith != null || !hasPluginFor(dir, scheme)) {
            throw missingPlugin(scheme, dir);
        }
        initialize(conf, dir);
        if (!isRegistered(scheme)) {
            throw missingPlugin(scheme, dir);
        }
    }

    /** True if a {@link FileSystemFactory} for {@code scheme} is registered in this JVM. */
    public static boolean isRegistered(String scheme) {
        return FileSystem.getRegisteredFileSystemFactories().stream()
                .anyMatch(f -> scheme.equalsIgnoreCase(f.getScheme()));
    }

    /** The plugins directory: the option, else {@code $FLINK_PLUGINS_DIR}, else {@code plugins}. */
    static Path pluginsDir(Configuration conf, Function<String, String> env) {
        String dir =
                conf.getOptional(StorageOptions.PLUGINS_DIR)
                        .or(() -> Optional.ofNullable(env.apply(StorageOptions.PLUGINS_DIR_ENV)))
                        .filter(s -> !s.isBlank())
                        .orElse("plugins");
        return Path.of(dir).toAbsolutePath().normalize();
    }

    /** True if {@code dir} has a sub-directory {@code <scheme>-fs-*} holding a jar. */
    static boolean hasPluginFor(Path dir, String scheme) {
        String prefix = scheme.toLowerCase(Locale.ROOT) + "-fs-";
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> plugins = Files.list(dir)) {
            return plugins.filter(p -> p.getFileName().toString().startsWith(prefix))
                    .anyMatch(FlinkFileSystems::holdsJar);
        } catch (IOException e) {
            return false;
        }
    }

    private static void initialize(Configuration conf, Path dir) throws StorageException {
        quietAwsSdkV1Announcement();
        Configuration fsConf = new Configuration(conf);
        if (!fsConf.containsKey(S3_VERSION_REQUIRED)) {
            fsConf.setString(S3_VERSION_REQUIRED, "false");
        }
        try {
            PluginManager plugins =
                    new DefaultPluginManager(
                            new DirectoryBasedPluginFinder(dir).findPlugins(),
                            CoreOptions.getPluginParentFirstLoaderPatterns(fsConf));
            FileSystem.initialize(fsConf, plugins);
        } catch (IOException | RuntimeException e) {
            throw new StorageException(
                    "cannot load Flink file system plugins from " + dir + ": " + e, false, e);
        }
        initializedWith = fsKeys(conf);
        LOG.info(
                "Initialized Flink file systems from plugins in {} (keys: {})",
                dir,
                initializedWith.keySet());
    }

    /**
     * The S3 plugin's AWS SDK 1.x prints a deprecation notice with a 30-line stack trace to the
     * console (java.util.logging) when it first loads; its documented switch turns it off unless
     * the user set it.
     */
    private static void quietAwsSdkV1Announcement() {
        if (System.getProperty(AWS_V1_ANNOUNCEMENT) == null
                && System.getenv("AWS_JAVA_V1_DISABLE_DEPRECATION_ANNOUNCEMENT") == null) {
            System.setProperty(AWS_V1_ANNOUNCEMENT, "true");
        }
    }

    private static void warnIfDifferent(Configuration conf) {
        if (initializedWith == null) {
            return;
        }
        Map<String, String> now = fsKeys(conf);
        if (!now.equals(initializedWith)) {
            LOG.warn(
                    "Flink file systems were initialized once per JVM with keys {}; these settings"
                            + " (keys {}) are ignored until the JVM restarts",
                    initializedWith.keySet(),
                    now.keySet());
        }
    }

    /** File system keys and a hash of each value: the values (credentials) are never kept. */
    private static Map<String, String> fsKeys(Configuration conf) {
        Map<String, String> keys = new TreeMap<>();
        conf.toMap()
                .forEach(
                        (k, v) -> {
                            for (String prefix : FS_KEY_PREFIXES) {
                                if (k.startsWith(prefix)) {
                                    keys.put(k, Integer.toHexString(Objects.hashCode(v)));
                                }
                            }
                        });
        return keys;
    }

    private static boolean holdsJar(Path pluginDir) {
        try (Stream<Path> files = Files.list(pluginDir)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".jar"));
        } catch (IOException e) {
            return false;
        }
    }

    private static StorageException missingPlugin(String scheme, Path dir) {
        return new StorageException(
                "no Flink file system for "
                        + scheme
                        + "://: put its plugin under "
                        + dir
                        + "/"
                        + scheme
                        + "-fs-hadoop/ (e.g. flink-"
                        + scheme
                        + "-fs-hadoop-<flink version>.jar), or set "
                        + StorageOptions.PLUGINS_DIR.key()
                        + " or $"
                        + StorageOptions.PLUGINS_DIR_ENV,
                false);
    }
}
