package io.warmstage.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.configuration.Configuration;

/**
 * A real S3-compatible server for tests: <a href="https://github.com/gaul/s3proxy">S3Proxy</a> run
 * as its own process ({@code java -jar s3proxy.jar}) on 127.0.0.1 and a free port, storing objects
 * in a temporary directory (jclouds {@code filesystem} provider: one directory per bucket), with
 * AWS signature v2/v4 authorization and a random secret per run.
 *
 * <p>The jar is copied from Maven Central into {@code target/s3proxy/s3proxy.jar} by the build
 * (system property {@code warmstage.test.s3proxy.jar} overrides). {@link #close()} kills the
 * process and deletes nothing the tests need afterwards.
 */
public final class S3ProxyServer implements AutoCloseable {
    /** The access key the server accepts. */
    public static final String ACCESS_KEY = "warmstage-test";

    private static final Duration START_DEADLINE = Duration.ofSeconds(60);

    private final Path baseDir;
    private final Process process;
    private final int port;
    private final String secret;

    private S3ProxyServer(Path baseDir, Process process, int port, String secret) {
        this.baseDir = baseDir;
        this.process = process;
        this.port = port;
        this.secret = secret;
    }

    /**
     * Starts the server with the given buckets and waits until it accepts connections.
     *
     * @throws IllegalStateException if the jar is missing, or the server exits or does not listen
     *     within 60 s (with the tail of its log)
     */
    public static S3ProxyServer start(List<String> buckets) throws IOException {
        Path jar =
                Path.of(
                        System.getProperty(
                                "warmstage.test.s3proxy.jar", "target/s3proxy/s3proxy.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(
                    "S3Proxy jar not found at "
                            + jar.toAbsolutePath()
                            + "; run mvn process-test-resources");
        }
        Path baseDir = Files.createTempDirectory("warmstage-s3proxy");
        Path data = Files.createDirectories(baseDir.resolve("data"));
        for (String bucket : buckets) {
            Files.createDirectories(data.resolve(bucket));
        }
        int port = freePort();
        String secret = "secret-" + UUID.randomUUID();
        Path conf = writeConfig(baseDir, data, port, secret);
        Path log = baseDir.resolve("s3proxy.log");
        Process process =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-Xmx256m",
                                "-jar",
                                jar.toAbsolutePath().toString(),
                                "--properties",
                                conf.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
        S3ProxyServer server = new S3ProxyServer(baseDir, process, port, secret);
        server.awaitListening(log);
        return server;
    }

    /**
     * The file behind object {@code key} of {@code bucket} in the filesystem backend: writing it
     * directly (no PUT) makes an object the server serves without a stored ETag.
     */
    public Path backendFile(String bucket, String key) {
        return baseDir.resolve("data").resolve(bucket).resolve(key);
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** The secret key the server accepts with {@link #ACCESS_KEY}. */
    public String secretKey() {
        return secret;
    }

    /**
     * Flink S3 plugin settings for this server: endpoint, path-style access and credentials ({@code
     * s3.*} keys, mirrored by the plugin to {@code fs.s3a.*}).
     */
    public Map<String, String> s3Config() {
        return Map.of(
                "s3.endpoint",
                endpoint().toString(),
                "s3.path.style.access",
                "true",
                "s3.access-key",
                ACCESS_KEY,
                "s3.secret-key",
                secret);
    }

    /** {@link #s3Config()} plus the plugins directory, as a Flink {@link Configuration}. */
    public Configuration flinkConfig(Path pluginsDir) {
        Configuration conf = Configuration.fromMap(s3Config());
        conf.setString("warmstage.storage.plugins-dir", pluginsDir.toAbsolutePath().toString());
        return conf;
    }

    /** Stops the server (kills the process) and waits for it to exit. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void awaitListening(Path log) {
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (!accepts()) {
            if (!process.isAlive() || System.nanoTime() - deadline > 0) {
                close();
                throw new IllegalStateException(
                        "S3Proxy did not start on port " + port + ":\n" + tail(log));
            }
            LockSupport.parkNanos(50_000_000L);
        }
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Path writeConfig(Path baseDir, Path data, int port, String secret)
            throws IOException {
        String properties =
                String.join(
                        "\n",
                        "s3proxy.endpoint=http://127.0.0.1:" + port,
                        "s3proxy.authorization=aws-v2-or-v4",
                        "s3proxy.identity=" + ACCESS_KEY,
                        "s3proxy.credential=" + secret,
                        "jclouds.provider=filesystem",
                        "jclouds.identity=unused",
                        "jclouds.credential=unused",
                        "jclouds.filesystem.basedir=" + data,
                        "");
        return Files.writeString(baseDir.resolve("s3proxy.conf"), properties);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
