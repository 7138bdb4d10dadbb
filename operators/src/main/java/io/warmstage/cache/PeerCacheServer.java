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
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
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
 * <p>The server is Jetty's, non-blocking: requests are parsed and answers written without holding a
 * thread while the client is slow, so clients that stop mid-request or stop reading an answer
 * (back-pressure on a reader) cost no serving thread, and the questions of other peers are answered
 * at once. A connection on which nothing moves for {@link #IDLE_TIMEOUT} is closed. An answer being
 * sent holds one pooled 1 MiB direct buffer and its open data file; at most {@link
 * #MAX_CONNECTIONS} connections are served at once (so at most 1 GiB of buffers).
 */
public final class PeerCacheServer implements Closeable {
    /** Path prefix of the entries. */
    public static final String ENTRIES = "/v1/entries/";

    /** How long a connection may make no progress (reading a request, sending an answer). */
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);

    private static final Pattern ENTRY = Pattern.compile("/v1/entries/([0-9a-f]{64})(\\.json)?");
    private static final Pattern ONE_RANGE = Pattern.compile("bytes=(\\d{0,18})-(\\d{0,18})");

    /** Bytes of a data file read and written at a time, in a pooled direct buffer. */
    private static final int COPY_BYTES = 1 << 20;

    /** Connections served at once; more wait to be accepted. */
    public static final int MAX_CONNECTIONS = 1024;

    /** Serving threads at most ({@code --threads}). */
    public static final int MAX_THREADS = 1024;

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
     * @param threads serving threads, in [1, {@link #MAX_THREADS}]: they read sidecars and data
     *     files and hand the bytes to the sockets (a slow client holds none)
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
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException(
                    "threads must be in [1, " + MAX_THREADS + "], got " + threads);
        }
        if (bind.isUnresolved()) {
            throw new UnknownHostException(bind.getHostString() + ": no such address or host name");
        }
        // one acceptor and one selector besides the serving threads
        QueuedThreadPool pool = new QueuedThreadPool(threads + 4, 2);
        pool.setName("warmstage-peer-cache");
        pool.setDaemon(true);
        pool.setReservedThreads(0);
        // buckets up to the body's 1 MiB, so a released body buffer is reused (Jetty's default
        // pool keeps buffers of at most 64 KiB: a new direct buffer per answer, freed by GC)
        Server server = new Server(pool, null, new ArrayByteBufferPool(0, -1, COPY_BYTES));
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost(bind.getAddress().getHostAddress());
        connector.setPort(bind.getPort());
        connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(MAX_CONNECTIONS, connector));
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

    /** Answers each request; completes its callback when the answer is sent or cut. */
    private final class Entries extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            try {
                serve(request, response, callback);
            } catch (Throwable e) {
                // thrown before the answer was handed to Jetty: nothing completed the callback
                LOG.debug(
                        "peer cache: {} {} failed: {}",
                        request.getMethod(),
                        request.getHttpURI().getPath(),
                        e.toString());
                callback.failed(e);
            }
            return true;
        }
    }

    private void serve(Request request, Response response, Callback callback) throws IOException {
        String method = request.getMethod();
        boolean head = "HEAD".equals(method);
        if (!head && !"GET".equals(method)) {
            response.getHeaders().put("Allow", "GET, HEAD");
            status(response, 405, callback);
            return;
        }
        Matcher m = ENTRY.matcher(String.valueOf(request.getHttpURI().getPath()));
        if (!m.matches() || request.getHttpURI().getQuery() != null) {
            status(response, 404, callback);
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
            entry = null;
            json = null;
        }
        if (entry == null || entry.uri() == null) {
            status(response, 404, callback); // not published, or a sidecar no writer wrote
            return;
        }
        FileChannel data;
        try {
            data =
                    FileChannel.open(
                            dir.resolve(key + LocalCache.DATA_SUFFIX), StandardOpenOption.READ);
        } catch (IOException e) {
            status(response, 404, callback);
            return;
        }
        boolean handedOver = false;
        try {
            long size = data.size();
            if (size != entry.size()) {
                status(response, 404, callback); // mid-publish or damaged: not this entry's bytes
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
                long[] range =
                        answerHeaders(
                                request,
                                response,
                                "\"" + key + "-" + Integer.toHexString(crc) + "\"",
                                json.length,
                                "application/json",
                                callback);
                if (range != null) {
                    ByteBuffer body =
                            head
                                    ? null
                                    : ByteBuffer.wrap(
                                            json, (int) range[0], (int) (range[1] - range[0]));
                    response.write(true, body, callback);
                }
                return;
            }
            long[] range =
                    answerHeaders(
                            request,
                            response,
                            "\"" + key + "\"",
                            size,
                            "application/octet-stream",
                            callback);
            if (range == null) {
                return;
            }
            if (head || range[0] == range[1]) {
                response.write(true, null, callback);
                return;
            }
            Body body = new Body(request, response, data, range[0], range[1], callback);
            handedOver = true; // the body closes the file when it completes or fails
            body.iterate();
        } finally {
            if (!handedOver) {
                data.close();
            }
        }
    }

    /**
     * Sets the answer's status and headers for the whole resource ({@code size} bytes) or the one
     * range asked for, honouring {@code If-Match}.
     *
     * @return the body's {@code [from, to)}, or null when the answer was already sent (412, 416)
     */
    private static long[] answerHeaders(
            Request request,
            Response response,
            String etag,
            long size,
            String contentType,
            Callback callback) {
        HttpFields.Mutable h = response.getHeaders();
        h.put("ETag", etag);
        h.put("Accept-Ranges", "bytes");
        h.put("Content-Type", contentType);
        List<String> ifMatch = request.getHeaders().getValuesList("If-Match");
        if (!ifMatch.isEmpty() && !matches(ifMatch, etag)) {
            status(response, 412, callback);
            return null;
        }
        List<String> ranges = request.getHeaders().getValuesList("Range");
        // several Range lines are several ranges: ignored, as one line listing several is
        String rangeHeader = ranges.size() == 1 ? ranges.get(0) : null;
        String ifRange = request.getHeaders().get("If-Range");
        if (ifRange != null && !ifRange.trim().equals(etag)) {
            // RFC 9110 section 13.1.5: a validator that does not match (or a date: no
            // Last-Modified here) asks for the whole representation
            rangeHeader = null;
        }
        long from = 0;
        long to = size; // exclusive
        int status = 200;
        Matcher r = rangeHeader == null ? null : ONE_RANGE.matcher(rangeHeader.trim());
        if (r != null && r.matches() && !(r.group(1).isEmpty() && r.group(2).isEmpty())) {
            if (r.group(1).isEmpty()) { // suffix: the last n bytes
                long n = Long.parseLong(r.group(2));
                if (n == 0 || size == 0) {
                    // RFC 9110 section 14.1.3: a suffix range of 0 bytes, or of an empty
                    // representation, is unsatisfiable
                    unsatisfiable(response, size, callback);
                    return null;
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
                    unsatisfiable(response, size, callback);
                    return null;
                }
            }
            if (r != null) {
                status = 206;
                h.put("Content-Range", "bytes " + from + "-" + (to - 1) + "/" + size);
            }
        }
        response.setStatus(status);
        h.put("Content-Length", Long.toString(to - from));
        return new long[] {from, to};
    }

    /**
     * Sends {@code [from, to)} of a data file as the answer's body, a buffer at a time: each write
     * completes asynchronously, so a client that reads slowly (or not at all, until {@link
     * #IDLE_TIMEOUT}) holds a pooled buffer and a file, not a thread.
     */
    private final class Body extends IteratingCallback {
        private final Response response;
        private final FileChannel data;
        private final long to;
        private final Callback done;
        private final RetainableByteBuffer buffer;
        private long pos;
        private long writing; // bytes of the write in flight, counted as served once it completes

        Body(
                Request request,
                Response response,
                FileChannel data,
                long from,
                long to,
                Callback done) {
            this.response = response;
            this.data = data;
            this.pos = from;
            this.to = to;
            this.done = done;
            this.buffer =
                    request.getComponents()
                            .getByteBufferPool()
                            .acquire((int) Math.min(COPY_BYTES, to - from), true);
        }

        @Override
        protected Action process() throws Throwable {
            bytesServed.addAndGet(writing);
            writing = 0;
            if (pos >= to) {
                return Action.SUCCEEDED;
            }
            ByteBuffer b = buffer.getByteBuffer();
            b.clear().limit((int) Math.min(Math.min(b.capacity(), COPY_BYTES), to - pos));
            int n = data.read(b, pos);
            if (n < 0) {
                throw new IOException("data file ended at " + pos + " of " + to);
            }
            b.flip();
            pos += n;
            writing = n;
            response.write(pos >= to, b, this);
            return Action.SCHEDULED;
        }

        @Override
        protected void onCompleteSuccess() {
            entriesServed.incrementAndGet();
            finish();
            done.succeeded();
        }

        @Override
        protected void onCompleteFailure(Throwable cause) {
            LOG.debug("peer cache: answer cut at {}: {}", pos, cause.toString());
            finish();
            done.failed(cause);
        }

        private void finish() {
            buffer.release();
            try {
                data.close();
            } catch (IOException e) {
                LOG.debug("peer cache: closing a data file: {}", e.toString());
            }
        }
    }

    private static void status(Response response, int status, Callback callback) {
        response.setStatus(status);
        response.getHeaders().put("Content-Length", "0");
        response.write(true, null, callback);
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

    private static void unsatisfiable(Response response, long size, Callback callback) {
        response.getHeaders().put("Content-Range", "bytes */" + size);
        status(response, 416, callback);
    }
}
