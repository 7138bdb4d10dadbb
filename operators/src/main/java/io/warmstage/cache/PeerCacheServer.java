package io.warmstage.cache;

import io.warmstage.memory.Crc32c;
import io.warmstage.storage.Redaction;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
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
 * bytes and, in its sidecar, the origin URI without credentials (a sidecar written before URIs were
 * redacted is served with its URI redacted).
 *
 * <p>The server is Jetty's: requests are parsed without holding a thread, so clients that stop
 * mid-request cost no serving thread, and a connection on which nothing moves for {@link
 * #IDLE_TIMEOUT} (a client that stops reading the body) is closed.
 */
public final class PeerCacheServer implements Closeable {
    /** Path prefix of the entries. */
    public static final String ENTRIES = "/v1/entries/";

    /** How long a connection may make no progress (reading a request, sending an answer). */
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern ENTRY = Pattern.compile("/v1/entries/([0-9a-f]{64})(\\.json)?");
    private static final Pattern ONE_RANGE = Pattern.compile("bytes=(\\d{0,18})-(\\d{0,18})");
    private static final int COPY_BYTES = 1 << 20;
    private static final ThreadLocal<ByteBuffer> COPY_BUFFER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(COPY_BYTES));
    private static final Logger LOG = LoggerFactory.getLogger(PeerCacheServer.class);

    private final Path dir;
    private final Server server;
    private final ServerConnector connector;
    private final AtomicLong bytesServed = new AtomicLong();
    private final AtomicLong entriesServed = new AtomicLong();

    private PeerCacheServer(Path dir, Server server, ServerConnector connector) {
        this.dir = dir;
        this.server = server;
        this.connector = connector;
    }

    /**
     * Starts serving {@code dir} (a cache directory, {@link LocalCache}'s layout) on {@code bind}.
     *
     * @param bind address and port; port 0 picks a free one ({@link #address()})
     * @param threads requests served at once (each serving thread keeps one 1 MiB direct buffer)
     * @throws NoSuchFileException if {@code dir} does not exist
     * @throws NotDirectoryException if {@code dir} is not a directory
     * @throws java.net.BindException if the address cannot be bound (in use, not this host's)
     * @throws IOException for other failures to start
     */
    public static PeerCacheServer start(Path dir, InetSocketAddress bind, int threads)
            throws IOException {
        if (!Files.exists(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such cache directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new NotDirectoryException(dir.toString());
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        if (bind.isUnresolved()) {
            throw new UnknownHostException(bind.getHostString() + ": no such address or host name");
        }
        // one acceptor and one selector besides the serving threads
        QueuedThreadPool pool = new QueuedThreadPool(threads + 4, 2);
        pool.setName("warmstage-peer-cache");
        pool.setDaemon(true);
        pool.setReservedThreads(0);
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost(bind.getAddress().getHostAddress());
        connector.setPort(bind.getPort());
        connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        server.addConnector(connector);
        PeerCacheServer s =
                new PeerCacheServer(dir.toAbsolutePath().normalize(), server, connector);
        server.setHandler(s.new Entries());
        try {
            server.start();
        } catch (Exception e) {
            stopQuietly(server);
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof java.net.BindException b) {
                    java.net.BindException named =
                            new java.net.BindException(
                                    "cannot listen on "
                                            + bind.getAddress().getHostAddress()
                                            + ":"
                                            + bind.getPort()
                                            + ": "
                                            + b.getMessage());
                    named.initCause(e);
                    throw named;
                }
            }
            throw e instanceof IOException io ? io : new IOException(e);
        }
        return s;
    }

    /** The bound address (with the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return new InetSocketAddress(connector.getHost(), connector.getLocalPort());
    }

    /**
     * The base URI peers are configured with: {@code http://host:port/}. Bound to the wildcard
     * address, the host is this host's name ({@link InetAddress#getLocalHost()}): give peers the
     * name or address by which the fleet's network reaches this host if that is another.
     */
    public URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        if (a.getAddress().isAnyLocalAddress()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = e.getMessage() == null ? "localhost" : e.getMessage().split(":")[0];
            }
        }
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
        stopQuietly(server);
    }

    private static void stopQuietly(Server server) {
        try {
            server.setStopTimeout(0);
            server.stop();
        } catch (Exception e) {
            LOG.debug("peer cache: stopping: {}", e.toString());
        }
    }

    /** What a request is answered with: a status, headers and a body (null for none). */
    private final class Entries extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            try {
                serve(request, response);
                callback.succeeded();
            } catch (Throwable e) {
                LOG.debug(
                        "peer cache: {} {} cut: {}",
                        request.getMethod(),
                        request.getHttpURI().getPath(),
                        e.toString());
                callback.failed(e);
            }
            return true;
        }
    }

    private void serve(Request request, Response response) throws IOException {
        String method = request.getMethod();
        boolean head = "HEAD".equals(method);
        if (!head && !"GET".equals(method)) {
            response.getHeaders().put("Allow", "GET, HEAD");
            status(response, 405);
            return;
        }
        Matcher m = ENTRY.matcher(String.valueOf(request.getHttpURI().getPath()));
        if (!m.matches() || request.getHttpURI().getQuery() != null) {
            status(response, 404);
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
            status(response, 404); // not published, or a sidecar no writer wrote
            return;
        }
        FileChannel data;
        try {
            data =
                    FileChannel.open(
                            dir.resolve(key + LocalCache.DATA_SUFFIX), StandardOpenOption.READ);
        } catch (IOException e) {
            status(response, 404);
            return;
        }
        try (data) {
            long size = data.size();
            if (size != entry.size()) {
                status(response, 404); // mid-publish or damaged: not this entry's bytes
                return;
            }
            CacheDirectory.touch(sidecar);
            if (m.group(2) != null) {
                String redacted = Redaction.uri(entry.uri());
                if (!redacted.equals(entry.uri())) {
                    // written before URIs were redacted: never hand its credentials to a peer
                    json = LocalCache.JSON.writeValueAsBytes(entry.withUri(redacted));
                }
                // the sidecar's tag is its content's: a touch or a rewrite of the same entry
                // leaves it, a new entry under the key changes it
                int crc = Crc32c.of(ByteBuffer.wrap(json));
                send(
                        request,
                        response,
                        head,
                        "\"" + key + "-" + Integer.toHexString(crc) + "\"",
                        json.length,
                        null,
                        json);
            } else {
                send(request, response, head, "\"" + key + "\"", size, data, null);
            }
        }
    }

    /**
     * Answers with the whole resource ({@code size} bytes) or the one range asked for, honouring
     * {@code If-Match}; the body comes from {@code data} or, for a sidecar, {@code bytes}.
     */
    private void send(
            Request request,
            Response response,
            boolean head,
            String etag,
            long size,
            FileChannel data,
            byte[] bytes)
            throws IOException {
        HttpFields.Mutable h = response.getHeaders();
        h.put("ETag", etag);
        h.put("Accept-Ranges", "bytes");
        h.put("Content-Type", bytes != null ? "application/json" : "application/octet-stream");
        String rangeHeader = request.getHeaders().get("Range");
        List<String> ifMatch = request.getHeaders().getValuesList("If-Match");
        if (!ifMatch.isEmpty() && !matches(ifMatch, etag)) {
            status(response, 412);
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
                    unsatisfiable(response, size);
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
                    unsatisfiable(response, size);
                    return;
                }
            }
            if (r != null) {
                status = 206;
                h.put("Content-Range", "bytes " + from + "-" + (to - 1) + "/" + size);
            }
        }
        long length = to - from;
        response.setStatus(status);
        h.put("Content-Length", Long.toString(length));
        if (head || length == 0) {
            write(response, true, null);
            return;
        }
        if (bytes != null) {
            write(response, true, ByteBuffer.wrap(bytes, (int) from, (int) length));
            return;
        }
        // a direct buffer per serving thread, reused: the socket write takes it without a copy
        // to native memory, and nothing is allocated (or zeroed) per request
        ByteBuffer b = COPY_BUFFER.get();
        for (long pos = from; pos < to; ) {
            b.clear().limit((int) Math.min(b.capacity(), to - pos));
            int n = data.read(b, pos);
            if (n < 0) {
                throw new IOException("data file ended at " + pos + " of " + size);
            }
            b.flip();
            pos += n;
            write(response, pos >= to, b);
            bytesServed.addAndGet(n);
        }
        entriesServed.incrementAndGet();
    }

    /** Writes {@code body} (or nothing) and waits until it is sent or the connection fails. */
    private static void write(Response response, boolean last, ByteBuffer body) throws IOException {
        try (Blocker.Callback done = Blocker.callback()) {
            response.write(last, body, done);
            done.block();
        }
    }

    private static void status(Response response, int status) throws IOException {
        response.setStatus(status);
        response.getHeaders().put("Content-Length", "0");
        write(response, true, null);
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

    private static void unsatisfiable(Response response, long size) throws IOException {
        response.getHeaders().put("Content-Range", "bytes */" + size);
        status(response, 416);
    }
}
