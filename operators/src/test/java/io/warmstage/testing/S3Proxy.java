package io.warmstage.testing;

import io.warmstage.storage.FlinkFileSystems;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit extension: one {@link S3ProxyServer} per test JVM, started before the first test class that
 * uses it and killed when the test run ends, with Flink's file systems initialized once against it
 * ({@link FlinkFileSystems}: JVM-wide, so every class shares this configuration).
 *
 * <p>Buckets: {@link #BUCKET}, readable with the server's credentials, and {@link #LOCKED_BUCKET},
 * which the configuration gives a wrong secret ({@code s3.bucket.<b>.secret.key}, S3A's per-bucket
 * settings) so that reading it is a real 403.
 *
 * <pre>{@code
 * @ExtendWith(S3Proxy.class)
 * class MyTest {
 *     @Test void reads() throws Exception { S3Proxy.put(S3Proxy.uri("a.bin"), bytes); ... }
 * }
 * }</pre>
 */
public final class S3Proxy implements BeforeAllCallback {
    /** A bucket the configured credentials can read and write. */
    public static final String BUCKET = "models";

    /** A bucket the configuration gives a wrong secret for: every request is a 403. */
    public static final String LOCKED_BUCKET = "locked";

    /** The wrong secret configured for {@link #LOCKED_BUCKET}. */
    public static final String LOCKED_SECRET = "wrong-" + UUID.randomUUID();

    private static volatile Shared shared;

    @Override
    public void beforeAll(ExtensionContext context) {
        shared =
                context.getRoot()
                        .getStore(ExtensionContext.Namespace.create(S3Proxy.class))
                        .getOrComputeIfAbsent(Shared.class, k -> Shared.start(), Shared.class);
    }

    /** The running server. */
    public static S3ProxyServer server() {
        return state().server;
    }

    /**
     * The configuration Flink's file systems were initialized with: the server's {@code s3.*} keys,
     * the locked bucket's wrong secret and the plugins directory.
     */
    public static Configuration config() {
        return new Configuration(state().config);
    }

    /** {@code s3://models/<key>}. */
    public static URI uri(String key) {
        return URI.create("s3://" + BUCKET + "/" + key);
    }

    /**
     * The plugins directory built by Maven ({@code target/plugins}, or {@code
     * warmstage.test.plugins.dir}).
     */
    public static Path pluginsDir() {
        return Path.of(System.getProperty("warmstage.test.plugins.dir", "target/plugins"))
                .toAbsolutePath();
    }

    /** Uploads {@code bytes} as object {@code uri} with a PUT through Flink's S3 file system. */
    public static void put(URI uri, byte[] bytes) throws IOException {
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        try (OutputStream out = FileSystem.get(uri).create(path, FileSystem.WriteMode.OVERWRITE)) {
            out.write(bytes);
        }
    }

    /** Uploads the file {@code file} as object {@code uri}. */
    public static void put(URI uri, Path file) throws IOException {
        put(uri, Files.readAllBytes(file));
    }

    private static Shared state() {
        if (shared == null) {
            throw new IllegalStateException(
                    "annotate the test class with @ExtendWith(S3Proxy.class)");
        }
        return shared;
    }

    /** The server and the configuration, closed by JUnit at the end of the run. */
    private static final class Shared implements AutoCloseable {
        final S3ProxyServer server;
        final Configuration config;

        Shared(S3ProxyServer server, Configuration config) {
            this.server = server;
            this.config = config;
        }

        static Shared start() {
            try {
                S3ProxyServer server = S3ProxyServer.start(List.of(BUCKET, LOCKED_BUCKET));
                Configuration conf = server.flinkConfig(pluginsDir());
                conf.setString("s3.bucket." + LOCKED_BUCKET + ".secret.key", LOCKED_SECRET);
                // gs:// is wired but has no local server: a missing key file makes it fail
                // fast, without reaching a metadata server or the network.
                conf.setString(
                        "gs.auth.service.account.json.keyfile",
                        pluginsDir().resolveSibling("no-such-gcs-key.json").toString());
                FlinkFileSystems.ensureScheme("s3", conf);
                return new Shared(server, conf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            server.close();
        }
    }
}
