package io.warmstage.cache;

import io.warmstage.storage.HttpObjectStore;
import io.warmstage.storage.ObjectStore;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import io.warmstage.storage.StorageException;
import io.warmstage.storage.StorageOptions;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a file's copy in a peer host's cache ({@link PeerCacheServer}): the client side of warming
 * one group of hosts from another instead of from the origin.
 *
 * <p>For a file at a pinned version the peer is chosen by the entry key and a spread value (the
 * reader's subtask), so the readers of a group spread their files over the peers. A copy is used
 * only when the peer's sidecar describes exactly that version ({@link LocalCache#describes}: the
 * same URI, size and ETag, or the same SHA-256 pin), records the header's and every tensor's
 * CRC-32C (so each slot checks the bytes while it stages them, as for a hit in its own cache), and
 * the data has the version's size. Anything else (no peer answers within {@link
 * CacheOptions#PEER_TIMEOUT}, 404, another version) tries the next peer, at most {@link #TRIES} in
 * all, then the origin. A peer that could not be reached or did not answer in time is skipped for a
 * minute ({@link #DOWN_NANOS}), so a dead or wedged peer costs one timeout, not one per file. Those
 * questions (the sidecar, the data file's size) wait at most {@link CacheOptions#PEER_TIMEOUT} for
 * an answer; the reads of a copy's bytes wait as long as reads of the origin.
 *
 * <p>Peers are read through an HTTP store of their own that carries no credentials: the origin's
 * bearer token or user info never reaches a peer.
 */
public final class PeerCopies implements Closeable {
    /** Peers asked for one file before the origin is read instead. */
    public static final int TRIES = 2;

    /** Largest sidecar read from a peer, in bytes (a tensor's CRC is about 12 bytes of JSON). */
    static final long MAX_SIDECAR_BYTES = 64L << 20;

    private static final Logger LOG = LoggerFactory.getLogger(PeerCopies.class);

    /** How long a peer that could not be reached is not asked again, in nanoseconds. */
    static final long DOWN_NANOS = 60_000_000_000L;

    private final List<URI> peers;
    private final Map<String, String> pins;
    private final ObjectStore http;
    private final ObjectStore probes;

    /** Peers that could not be reached, with when they may be asked again (System.nanoTime). */
    private final Map<URI, Long> down = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A copy on a peer.
     *
     * @param data the data file's URI on the peer
     * @param version the copy's version as the peer serves it (size and the key as ETag): reads are
     *     pinned to it
     * @param entry the peer's sidecar: the checksums the staged bytes must have
     */
    public record PeerCopy(URI data, ObjectVersion version, CacheEntry entry) {}

    PeerCopies(List<URI> peers, Map<String, String> pins, ObjectStore http, ObjectStore probes) {
        this.peers = List.copyOf(peers);
        this.pins = pins;
        this.http = http;
        this.probes = probes;
    }

    /**
     * The peers of {@link CacheOptions#PEERS}, with the pins of {@link CacheOptions#SHA256_PINS}
     * and the HTTP timeouts of {@link StorageOptions}; empty when no peers are configured.
     *
     * @throws IllegalArgumentException naming the entry, for a peer that is not an absolute {@code
     *     http} or {@code https} URI without user info, path, query or fragment
     */
    public static Optional<PeerCopies> of(Configuration config) {
        List<URI> peers = configured(config);
        if (peers.isEmpty()) {
            return Optional.empty();
        }
        Duration peerTimeout = config.get(CacheOptions.PEER_TIMEOUT);
        ObjectStore http =
                new HttpObjectStore(
                        peerTimeout,
                        config.get(StorageOptions.HTTP_REQUEST_TIMEOUT),
                        config.get(StorageOptions.HTTP_STALL_TIMEOUT),
                        Optional.empty(),
                        config.get(StorageOptions.HTTP_MAX_CONNECTIONS));
        ObjectStore probes =
                new HttpObjectStore(peerTimeout, peerTimeout, peerTimeout, Optional.empty(), 8);
        return Optional.of(new PeerCopies(peers, ContentPins.of(config), http, probes));
    }

    /**
     * The peers of {@link CacheOptions#PEERS} as base URIs ending in {@code /}, checked as {@link
     * #of} checks them (for a check before a job is submitted); empty when none are configured.
     *
     * @return distinct base URIs, in the order first given (case of scheme and host, and a trailing
     *     {@code /}, do not make two peers)
     * @throws IllegalArgumentException naming the entry and the rule it breaks
     */
    public static List<URI> configured(Configuration config) {
        // one peer named twice (another spelling of the same base) is asked once
        java.util.LinkedHashSet<URI> peers = new java.util.LinkedHashSet<>();
        for (String p : config.getOptional(CacheOptions.PEERS).orElse(List.of())) {
            if (!p.isBlank()) {
                peers.add(base(p.trim()));
            }
        }
        return List.copyOf(peers);
    }

    /** The store that reads from peers (no credentials). */
    public ObjectStore store() {
        return http;
    }

    /** The configured peers, as base URIs ending in {@code /}. */
    public List<URI> peers() {
        return peers;
    }

    /**
     * A peer's copy of {@code uri} at {@code version}, if a peer asked has one that can be checked
     * while staged; never throws for a peer's fault (each is logged and the next peer asked).
     *
     * @param spread picks the first peer asked together with the entry key (a reader's subtask
     *     index)
     */
    public Optional<PeerCopy> find(URI uri, ObjectVersion version, int spread) {
        String key = LocalCache.keyOf(pins, uri, version);
        if (key == null) {
            return Optional.empty(); // a version no cache holds
        }
        int first = Math.floorMod(key.hashCode() + spread, peers.size());
        int asked = 0;
        for (int i = 0; i < peers.size() && asked < TRIES; i++) {
            URI peer = peers.get((first + i) % peers.size());
            Long until = down.get(peer);
            if (until != null && System.nanoTime() - until < 0) {
                continue; // unreachable a moment ago: not worth a connect timeout per file
            }
            asked++;
            try {
                Optional<PeerCopy> copy = ask(peer, key, uri, version);
                down.remove(peer);
                if (copy.isPresent()) {
                    return copy;
                }
            } catch (IOException | RuntimeException e) {
                if (unreachable(e)) {
                    down.put(peer, System.nanoTime() + DOWN_NANOS);
                }
                LOG.info(
                        "Peer {} gave no copy of {}: {}",
                        peer,
                        Redaction.uri(uri),
                        Redaction.text(e.toString()));
            }
        }
        return Optional.empty();
    }

    /** Whether {@code e} says the peer could not be reached (refused, timed out, no route). */
    private static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException
                    || t instanceof java.net.SocketTimeoutException
                    || t instanceof java.net.NoRouteToHostException
                    || t instanceof java.net.UnknownHostException
                    || t instanceof java.net.http.HttpTimeoutException
                    || t instanceof java.io.InterruptedIOException
                    || t.getClass().getSimpleName().equals("ConnectTimeoutException")) {
                return true;
            }
        }
        return false;
    }

    private Optional<PeerCopy> ask(URI peer, String key, URI uri, ObjectVersion version)
            throws IOException {
        URI sidecar = peer.resolve(PeerCacheServer.ENTRIES.substring(1) + key + ".json");
        ObjectVersion sv;
        try {
            sv = probes.stat(sidecar);
        } catch (StorageException e) {
            if (!e.retryable() && String.valueOf(e.getMessage()).contains(": HTTP 404")) {
                return Optional.empty(); // the peer does not hold it: the common case
            }
            throw e;
        }
        if (sv.size() < 1 || sv.size() > MAX_SIDECAR_BYTES) {
            throw new IOException("sidecar of " + sv.size() + " bytes");
        }
        byte[] json;
        try (InputStream in = probes.openRange(sidecar, sv, 0, sv.size())) {
            json = in.readAllBytes();
        }
        CacheEntry entry = LocalCache.JSON.readValue(json, CacheEntry.class);
        if (!entry.checkableWhileStaged() || !LocalCache.describes(pins, entry, uri, version)) {
            LOG.info(
                    "Peer {} holds {} without per-tensor checksums or for another version: not"
                            + " used",
                    peer,
                    Redaction.uri(uri));
            return Optional.empty();
        }
        URI data = peer.resolve(PeerCacheServer.ENTRIES.substring(1) + key);
        ObjectVersion dv = probes.stat(data);
        if (dv.size() != version.size()) {
            LOG.info(
                    "Peer {} serves {} bytes for {}, the origin {}: not used",
                    peer,
                    dv.size(),
                    Redaction.uri(uri),
                    version.size());
            return Optional.empty();
        }
        return Optional.of(new PeerCopy(data, dv, entry));
    }

    /** Whether {@code peer} is being skipped after it could not be reached. */
    boolean isDown(URI peer) {
        Long until = down.get(peer);
        return until != null && System.nanoTime() - until < 0;
    }

    @Override
    public void close() throws IOException {
        try (probes) {
            http.close();
        }
    }

    private static URI base(String s) {
        URI u;
        try {
            u = new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    CacheOptions.PEERS.key()
                            + ": '"
                            + Redaction.uri(s)
                            + "' is not a URI: "
                            + e.getReason(),
                    e);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        String broken = brokenRule(u, scheme);
        if (broken != null) {
            throw new IllegalArgumentException(
                    CacheOptions.PEERS.key()
                            + ": '"
                            + Redaction.uri(s)
                            + "' is not a peer's base URI: "
                            + broken
                            + "; give http://host:port, as warmstage cache serve prints");
        }
        return URI.create(scheme + "://" + u.getRawAuthority().toLowerCase(Locale.ROOT) + "/");
    }

    /** The rule {@code u} breaks as a peer's base URI, or null. */
    private static String brokenRule(URI u, String scheme) {
        if (!(scheme.equals("http") || scheme.equals("https"))) {
            return "its scheme is not http or https";
        }
        String authority = u.getRawAuthority() == null ? "" : u.getRawAuthority();
        if (u.getRawUserInfo() != null || authority.contains("@")) {
            return "it has user info (a peer takes no credentials)";
        }
        if (u.getHost() == null) {
            return "'"
                    + authority
                    + "' is not host:port (a host name of letters, digits, '-' and '.', or an IP"
                    + " address; a port in [1, 65535])";
        }
        if (u.getPort() == 0 || u.getPort() > 65535) {
            return "its port " + u.getPort() + " is not in [1, 65535]";
        }
        if (!(u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))) {
            return "it has a path (" + u.getRawPath() + ")";
        }
        if (u.getRawQuery() != null) {
            return "it has a query";
        }
        if (u.getRawFragment() != null) {
            return "it has a fragment";
        }
        return null;
    }
}
