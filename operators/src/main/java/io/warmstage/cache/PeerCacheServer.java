package io.warmstage.cache;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.warmstage.memory.Crc32c;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one host's published cache entries to other hosts over HTTP, read-only, so that hosts warm
 * from a peer's cache instead of the origin: a group of hosts whose job runs after another group
 * has staged the same model fetches it from that group ({@link PeerCopies} is the client, {@code
 * warmstage cache serve} runs this server).
 *
 * <p>Two resources per entry, {@code key} being {@link LocalCache#keyOf} (64 lower-case hex
 * digits), for {@code GET} and {@code HEAD}:
 *
 * <ul>
 *   <li>{@code /v1/entries/<key>}: the data file. One byte range ({@code Range: bytes=a-b}, {@code
 *       a-} or {@code -n}, RFC 9110 section 14.1.2) answers 206 with {@code Content-Range}; no
 *       Range header, one that does not parse, or several ranges answer 200 with the whole file (a
 *       server may ignore Range, RFC 9110 section 14.2); a range that starts past the end answers
 *       416 with {@code Content-Range: bytes }{@code *}{@code /size}. The strong ETag is the quoted
 *       key, which names the bytes (the origin's URI, size and ETag, or the SHA-256 pin); {@code
 *       If-Match} naming another tag answers 412.
 *   <li>{@code /v1/entries/<key>.json}: the sidecar ({@link CacheEntry}); the receiving slot checks
 *       the header and each tensor against its CRC-32Cs while it stages the bytes.
 * </ul>
 *
 * <p>Only published entries are served: a sidecar that parses and a data file of the sidecar's
 * size; anything else answers 404, other methods 405. Serving an entry marks it used, as a hit
 * does, so that eviction keeps what peers read. Paths are matched whole against that pattern and
 * never resolved against the file system, so nothing else of the host is reachable.
 *
 * <p>No authentication and no TLS: bind it to the fleet's private network. An entry holds model
 * bytes and, in its sidecar, the origin URI without credentials.
 */
public final class PeerCacheServer implements Closeable {
    /** Path prefix of the entries. */
    public static final String ENTRIES = "/v1/entries/";

    private static final Pattern ENTRY = Pattern.compile("/v1/entries/([0-9a-f]{64})(\\.json)?");
    private static final Pattern ONE_RANGE = Pattern.compile("bytes=(\\d{0,18})-(\\d{0,18})");
    private static final int COPY_BYTES = 1 << 20;
    private static final Logger LOG = LoggerFactory.getLogger(PeerCacheServer.class);

    private final Path dir;
    private final HttpServer server;
    private final ExecutorService threads;
    private final AtomicLong bytesServed = new AtomicLong();
    private final AtomicLong entriesServed = new AtomicLong();

    private PeerCacheServer(Path dir, HttpServer server, ExecutorService threads) {
        this.dir = dir;
        this.server = server;
        this.threads = threads;
    }

    /**
     * Starts serving {@code dir} (a cache directory, {@link LocalCache}'s layout) on {@code bind}.
     *
     * @param bind address and port; port 0 picks a free one ({@link #address()})
     * @param threads requests served at once (each holds one 1 MiB copy buffer)
     * @throws IOException if {@code dir} is not a directory or the address cannot be bound
     */
    public static PeerCacheServer start(Path dir, InetSocketAddress bind, int threads)
            throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "not a cache directory");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        HttpServer server = HttpServer.create(bind, 64);
        ExecutorService pool =
                Executors.newFixedThreadPool(
                        threads,
                        r -> {
                            Thread t = new Thread(r, "warmstage-peer-cache");
                            t.setDaemon(true);
                            return t;
                        });
        PeerCacheServer s = new PeerCacheServer(dir.toAbsolutePath().normalize(), server, pool);
        server.createContext("/", s::handle);
        server.setExecutor(pool);
        server.start();
        return s;
    }

    /** The bound address (with the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The base URI peers are configured with: {@code http://host:port/}. */
    public URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort() + "/");
    }

    /** Bytes of data files sent so far (bodies of 200 and 206 answers). */
    public long bytesServed() {
        return bytesServed.get();
    }

    /** Data requests answered with bytes so far (200 and 206). */
    public long entriesServed() {
        return entriesServed.get();
    }

    /** Stops at once: open exchanges are cut. */
    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            serve(x);
        } catch (IOException e) {
            LOG.debug("peer cache: {} {} cut: {}", x.getRequestMethod(), x.getRequestURI(), e);
        }
    }

    private void serve(HttpExchange x) throws IOException {
        String method = x.getRequestMethod();
        boolean head = "HEAD".equals(method);
        if (!head && !"GET".equals(method)) {
            x.getResponseHeaders().set("Allow", "GET, HEAD");
            x.sendResponseHeaders(405, -1);
            return;
        }
        Matcher m = ENTRY.matcher(x.getRequestURI().getRawPath());
        if (!m.matches() || x.getRequestURI().getRawQuery() != null) {
            x.sendResponseHeaders(404, -1);
            return;
        }
        String key = m.group(1);
        Path sidecar = dir.resolve(key + LocalCache.SIDECAR_SUFFIX);
        byte[] json;
        CacheEntry entry;
        try {
            json = Files.readAllBytes(sidecar);
            entry = LocalCache.JSON.readValue(json, CacheEntry.class);
        } catch (IOException | RuntimeException e) {
            x.sendResponseHeaders(404, -1); // not published, or a sidecar no writer wrote
            return;
        }
        FileChannel data;
        try {
            data =
                    FileChannel.open(
                            dir.resolve(key + LocalCache.DATA_SUFFIX), StandardOpenOption.READ);
        } catch (IOException e) {
            x.sendResponseHeaders(404, -1);
            return;
        }
        try (data) {
            long size = data.size();
            if (size != entry.size()) {
                x.sendResponseHeaders(404, -1); // mid-publish or damaged: not this entry's bytes
                return;
            }
            CacheDirectory.touch(sidecar);
            if (m.group(2) != null) {
                // the sidecar's tag is its content's: a touch or a rewrite of the same entry
                // leaves it, a new entry under the key changes it
                int crc = Crc32c.of(ByteBuffer.wrap(json));
                send(
                        x,
                        head,
                        "\"" + key + "-" + Integer.toHexString(crc) + "\"",
                        json.length,
                        null,
                        json);
            } else {
                send(x, head, "\"" + key + "\"", size, data, null);
            }
        }
    }

    /**
     * Answers with the whole resource ({@code size} bytes) or the one range asked for, honouring
     * {@code If-Match}; the body comes from {@code data} or, for a sidecar, {@code bytes}.
     */
    private void send(
            HttpExchange x, boolean head, String etag, long size, FileChannel data, byte[] bytes)
            throws IOException {
        var h = x.getResponseHeaders();
        h.set("ETag", etag);
        h.set("Accept-Ranges", "bytes");
        h.set("Content-Type", bytes != null ? "application/json" : "application/octet-stream");
        String rangeHeader = x.getRequestHeaders().getFirst("Range");
        List<String> ifMatch = x.getRequestHeaders().get("If-Match");
        if (ifMatch != null && !matches(ifMatch, etag)) {
            x.sendResponseHeaders(412, -1);
            return;
        }
        long from = 0;
        long to = size; // exclusive
        int status = 200;
        Matcher r = rangeHeader == null ? null : ONE_RANGE.matcher(rangeHeader.trim());
        if (r != null && r.matches() && !(r.group(1).isEmpty() && r.group(2).isEmpty())) {
            if (r.group(1).isEmpty()) { // suffix: the last n bytes
                long n = Long.parseLong(r.group(2));
                if (n == 0) {
                    unsatisfiable(x, size);
                    return;
                }
                from = Math.max(0, size - n);
            } else {
                from = Long.parseLong(r.group(1));
                if (!r.group(2).isEmpty()) {
                    long last = Long.parseLong(r.group(2));
                    if (last < from) {
                        r = null; // an invalid range is ignored (RFC 9110 section 14.1.1)
                        from = 0;
                    } else {
                        to = Math.min(size, last + 1);
                    }
                }
                if (r != null && from >= size) {
                    unsatisfiable(x, size);
                    return;
                }
            }
            if (r != null) {
                status = 206;
                h.set("Content-Range", "bytes " + from + "-" + (to - 1) + "/" + size);
            }
        }
        long length = to - from;
        h.set("Content-Length", Long.toString(length));
        if (head) {
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, length == 0 ? -1 : length);
        OutputStream out = x.getResponseBody();
        if (bytes != null) {
            out.write(bytes, (int) from, (int) length);
            return;
        }
        byte[] buf = new byte[(int) Math.min(COPY_BYTES, Math.max(1, length))];
        ByteBuffer b = ByteBuffer.wrap(buf);
        for (long pos = from; pos < to; ) {
            b.clear().limit((int) Math.min(buf.length, to - pos));
            int n = data.read(b, pos);
            if (n < 0) {
                throw new IOException("data file ended at " + pos + " of " + size);
            }
            out.write(buf, 0, n);
            pos += n;
            bytesServed.addAndGet(n);
        }
        entriesServed.incrementAndGet();
    }

    /**
     * Whether an {@code If-Match} header (one or more lines, each a comma-separated list) names
     * {@code etag} or is {@code *}: strong comparison, so a weak tag never matches (RFC 9110
     * section 13.1.1).
     */
    static boolean matches(List<String> ifMatch, String etag) {
        for (String line : ifMatch) {
            for (String tag : line.split(",")) {
                String t = tag.trim();
                if (t.equals("*") || t.equals(etag)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void unsatisfiable(HttpExchange x, long size) throws IOException {
        x.getResponseHeaders().set("Content-Range", "bytes */" + size);
        x.sendResponseHeaders(416, -1);
    }
}
