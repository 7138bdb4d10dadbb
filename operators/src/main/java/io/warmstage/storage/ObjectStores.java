package io.warmstage.storage;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;

/**
 * Chooses the {@link ObjectStore} for a URI by scheme and keeps one store per scheme until {@link
 * #close()}. Thread-safe.
 *
 * <pre>{@code
 * try (ObjectStores stores = ObjectStores.create(conf)) {
 *     URI uri = ObjectStores.toUri("/models/model.safetensors");
 *     ObjectStore store = stores.forUri(uri);
 *     ObjectVersion pinned = store.stat(uri);
 *     RangeReads.readFully(store, uri, pinned, 0, 8, buffer, stores.retryPolicy());
 * }
 * }</pre>
 */
public final class ObjectStores implements Closeable {
    /** Schemes {@link #toUri} accepts and {@link #forUri} serves. */
    public static final Set<String> ACCEPTED_SCHEMES = Set.of("file", "http", "https", "s3", "gs");

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:");

    private final Configuration conf;
    private final Function<String, String> env;
    private final Map<String, ObjectStore> stores = new HashMap<>();
    private boolean closed;

    private ObjectStores(Configuration conf, Function<String, String> env) {
        this.conf = new Configuration(conf);
        this.env = env;
    }

    /** Stores configured by {@link StorageOptions} in {@code conf}; the env fallback is real. */
    public static ObjectStores create(Configuration conf) {
        return new ObjectStores(conf, System::getenv);
    }

    /** As {@link #create(Configuration)}, reading environment variables from {@code env}. */
    static ObjectStores create(Configuration conf, Function<String, String> env) {
        return new ObjectStores(conf, env);
    }

    /**
     * The store for {@code uri}'s scheme: {@code file} or none → {@link LocalFileStore}; {@code
     * http}, {@code https} → one shared {@link HttpObjectStore}; {@code s3}, {@code gs} → a {@link
     * FlinkFileSystemStore} over Flink's file system plugins, loaded once per JVM by {@link
     * FlinkFileSystems#ensureScheme} when Flink has not registered the scheme already.
     *
     * @throws StorageException not retryable, for unknown schemes and for {@code s3}/{@code gs}
     *     when no plugin for them is registered or in the plugins directory
     * @throws IllegalStateException after {@link #close()}
     */
    public synchronized ObjectStore forUri(URI uri) throws StorageException {
        if (closed) {
            throw new IllegalStateException("ObjectStores is closed");
        }
        String key = storeKey(uri);
        ObjectStore store = stores.get(key);
        if (store == null) {
            store = newStore(key);
            stores.put(key, store);
        }
        return store;
    }

    /** The retry policy configured by {@link StorageOptions}. */
    public RetryPolicy retryPolicy() {
        return StorageOptions.retryPolicy(conf);
    }

    /** Closes every store made so far; later {@link #forUri} calls fail. */
    @Override
    public synchronized void close() throws IOException {
        closed = true;
        List<ObjectStore> toClose = new ArrayList<>(stores.values());
        stores.clear();
        IOException first = null;
        for (ObjectStore s : toClose) {
            try {
                s.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Parses a user-given location: a plain path (made absolute) becomes a {@code file:} URI;
     * anything with a scheme must use one of {@link #ACCEPTED_SCHEMES}.
     *
     * @throws IllegalArgumentException for an unparseable URI or path, or another scheme, naming
     *     the accepted ones
     */
    public static URI toUri(String s) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("empty location; give a path or a URI");
        }
        if (!SCHEME.matcher(s).find()) {
            return pathToUri(s);
        }
        URI uri = parse(s);
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        if (!ACCEPTED_SCHEMES.contains(scheme)) {
            throw new IllegalArgumentException(
                    "unsupported scheme '"
                            + uri.getScheme()
                            + "' in "
                            + Redaction.uri(uri)
                            + "; accepted: "
                            + acceptedSchemes()
                            + ", or a plain path");
        }
        return uri;
    }

    private ObjectStore newStore(String key) throws StorageException {
        switch (key) {
            case "file":
                return new LocalFileStore();
            case "http":
                return new HttpObjectStore(
                        conf.get(StorageOptions.HTTP_CONNECT_TIMEOUT),
                        conf.get(StorageOptions.HTTP_REQUEST_TIMEOUT),
                        conf.get(StorageOptions.HTTP_STALL_TIMEOUT),
                        bearerToken(),
                        conf.get(StorageOptions.HTTP_MAX_CONNECTIONS));
            case "s3":
            case "gs":
                FlinkFileSystems.ensureScheme(key, conf);
                return new FlinkFileSystemStore(key);
            default:
                throw new StorageException(
                        "no store for scheme '" + key + "'; accepted: " + acceptedSchemes(), false);
        }
    }

    private Optional<String> bearerToken() {
        Optional<String> configured = conf.getOptional(StorageOptions.HTTP_BEARER_TOKEN);
        return configured
                .or(() -> Optional.ofNullable(env.apply(StorageOptions.BEARER_TOKEN_ENV)))
                .filter(t -> !t.isBlank());
    }

    /** One key per store: http and https share a client. */
    private static String storeKey(URI uri) {
        String scheme = uri.getScheme() == null ? "file" : uri.getScheme().toLowerCase(Locale.ROOT);
        return "https".equals(scheme) ? "http" : scheme;
    }

    private static URI pathToUri(String s) {
        try {
            return Path.of(s).toAbsolutePath().normalize().toUri();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a valid path: " + s, e);
        }
    }

    private static URI parse(String s) {
        try {
            return new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "not a valid URI: " + e.getReason() + " at index " + e.getIndex(), e);
        }
    }

    private static String acceptedSchemes() {
        return String.join(", ", ACCEPTED_SCHEMES.stream().sorted().toList());
    }
}
