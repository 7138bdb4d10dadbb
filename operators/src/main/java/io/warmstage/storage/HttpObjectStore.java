package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.ManagedHttpClientConnectionFactory;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.MessageHeaders;
import org.apache.hc.core5.http.config.Http1Config;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.pool.PoolStats;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * {@link ObjectStore} for {@code http://} and {@code https://} URIs (presigned URLs included), on
 * Apache HttpClient 5 classic: blocking HTTP/1.1 over a pool of keep-alive connections, each body
 * read by the calling thread straight from the socket into the caller's array (no selector thread,
 * no body queue). Redirects are followed by {@link HttpRedirects} (never https to http); TLS
 * certificates and host names are verified with the JVM's trust store.
 *
 * <p>Every ranged read follows DESIGN.md storage rules and RFC 9110 range requests: {@code GET}
 * with {@code Range: bytes=a-b} (64-bit numbers), {@code Accept-Encoding: identity} and {@code
 * If-Match} on a pinned strong ETag ({@code If-Unmodified-Since} on a pinned Last-Modified); the
 * answer must be 206 with {@code Content-Range: bytes a-b/size}, no Content-Encoding other than
 * identity and the pinned ETag. Anything else is a {@link StorageException}, never data.
 *
 * <p>Closing a range's stream after its last byte returns the connection to the pool; closing it
 * before cancels the exchange (the socket is closed, nothing is drained). Error answers and
 * redirects are not drained either.
 *
 * <p>The bearer token is sent as {@code Authorization: Bearer …}, only to the origin of the URI
 * asked for, and appears in no message, log or {@link #toString()}.
 */
public final class HttpObjectStore implements ObjectStore {
    /** Connections kept per store when none is configured: per host and in total. */
    static final int DEFAULT_MAX_CONNECTIONS = 32;

    /**
     * Size of each connection's socket read buffer, in bytes. A read asking for more than is
     * buffered goes from the socket straight into the caller's array, so this only serves headers
     * and small reads.
     */
    static final int SOCKET_BUFFER_BYTES = 64 << 10;

    private final CloseableHttpClient client;
    private final PoolingHttpClientConnectionManager connections;
    private final Duration requestTimeout;
    private final Duration stallTimeout;
    private final Optional<String> bearerToken;

    /** As the full constructor, with the request timeout as stall timeout. */
    public HttpObjectStore(
            Duration connectTimeout, Duration requestTimeout, Optional<String> bearerToken) {
        this(connectTimeout, requestTimeout, requestTimeout, bearerToken);
    }

    /** As the full constructor, with {@link #DEFAULT_MAX_CONNECTIONS} connections. */
    public HttpObjectStore(
            Duration connectTimeout,
            Duration requestTimeout,
            Duration stallTimeout,
            Optional<String> bearerToken) {
        this(connectTimeout, requestTimeout, stallTimeout, bearerToken, DEFAULT_MAX_CONNECTIONS);
    }

    /**
     * @param connectTimeout limit for opening a connection (TLS handshake included)
     * @param requestTimeout limit for leasing a pooled connection and for each wait on the socket
     *     (response headers, and each body read)
     * @param stallTimeout longest time a body may deliver no byte before it is closed and the read
     *     fails as retryable ({@link RangeReads} resumes from the missing byte)
     * @param bearerToken sent as {@code Authorization: Bearer <token>} when present
     * @param maxConnections pooled connections, per host and in total; at least the ranged reads in
     *     flight on this store, else reads wait up to {@code requestTimeout} for one
     */
    public HttpObjectStore(
            Duration connectTimeout,
            Duration requestTimeout,
            Duration stallTimeout,
            Optional<String> bearerToken,
            int maxConnections) {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
        this.bearerToken = Objects.requireNonNull(bearerToken, "bearerToken");
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1");
        }
        this.connections = connectionManager(connectTimeout, requestTimeout, maxConnections);
        this.client =
                HttpClients.custom()
                        .setConnectionManager(connections)
                        .setDefaultRequestConfig(
                                RequestConfig.custom()
                                        .setConnectionRequestTimeout(timeout(requestTimeout))
                                        .setResponseTimeout(timeout(requestTimeout))
                                        .build())
                        .disableRedirectHandling() // see HttpRedirects
                        .disableAutomaticRetries() // RangeReads retries, for the missing bytes
                        .disableContentCompression() // ranges must be of stored bytes
                        .disableCookieManagement()
                        .disableAuthCaching()
                        .build();
    }

    /**
     * {@code HEAD}: size from Content-Length, version from ETag (or Last-Modified without one).
     * When HEAD is refused (405, 501), {@code GET Range: bytes=0-0} and the size from
     * Content-Range.
     *
     * @throws StorageException retryable for 429/5xx and network faults; not for 3xx/403/404, a
     *     missing Content-Length or a Content-Encoding other than identity
     */
    @Override
    public ObjectVersion stat(URI uri) throws IOException {
        Exchange x = send(request("HEAD", uri), uri);
        try {
            int status = x.response.getCode();
            if (status == 405 || status == 501) {
                x.abort();
                return statByRangedGet(uri);
            }
            if (status != 200) {
                throw HttpStatusErrors.of("HEAD", uri, status, x.response);
            }
            checkIdentityEncoding("HEAD", uri, x.response);
            long size = contentLength(x.response, "HEAD", uri);
            return new ObjectVersion(size, HttpVersionTokens.of(x.response));
        } finally {
            x.release(); // a HEAD has no body: nothing to drain
        }
    }

    /**
     * {@code GET} of bytes {@code [offset, offset + length)} pinned to {@code pinned}; the response
     * is checked before any byte is returned.
     *
     * @throws StorageException "object changed" (412, another ETag, another size), a wrong answer
     *     to the range (200, Content-Range mismatch, Content-Encoding) and 3xx/403/404 are not
     *     retryable; 429/5xx and network faults are; a short body is retryable from {@code read}
     */
    @Override
    public InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException {
        String range = ContentRange.rangeHeader(offset, length);
        Exchange x = send(rangeRequest(uri, pinned, range), uri);
        InputStream body;
        try {
            checkRangeResponse(uri, pinned, offset, length, range, x.response);
            body = x.body(length);
        } catch (IOException | RuntimeException e) {
            x.abort(); // an error body is never drained
            throw e;
        }
        return new ExactRangeInputStream(
                new StallGuardInputStream(body, uri, stallTimeout), uri, offset, length);
    }

    /** Closes every pooled connection at once; reads still open fail. */
    @Override
    public void close() {
        client.close(CloseMode.IMMEDIATE);
    }

    /** Connections leased to open exchanges and kept idle in the pool, for tests. */
    PoolStats poolStats() {
        return connections.getTotalStats();
    }

    @Override
    public String toString() {
        return "HttpObjectStore[requestTimeout="
                + requestTimeout
                + ", maxConnections="
                + connections.getMaxTotal()
                + ", bearerToken="
                + (bearerToken.isPresent() ? "set" : "none")
                + "]";
    }

    private ObjectVersion statByRangedGet(URI uri) throws IOException {
        HttpUriRequestBase get = request("GET", uri);
        get.setHeader("Range", "bytes=0-0");
        Exchange x = send(get, uri);
        try { // a 200 here would be the whole object: aborted, never drained
            String what = "GET bytes=0-0";
            int status = x.response.getCode();
            if (status != 206 && status != 200 && status != 416) {
                throw HttpStatusErrors.of(what, uri, status, x.response);
            }
            checkIdentityEncoding(what, uri, x.response);
            long size =
                    status == 200 ? contentLength(x.response, what, uri) : total(x.response, uri);
            return new ObjectVersion(size, HttpVersionTokens.of(x.response));
        } finally {
            x.abort();
        }
    }

    private static long total(ClassicHttpResponse r, URI uri) throws StorageException {
        String header = HttpStatusErrors.first(r, "Content-Range").orElse(null);
        Optional<ContentRange> cr = ContentRange.parse(header);
        boolean ok = cr.isPresent() && cr.get().total() >= 0;
        if (!ok || (r.getCode() == 206 && cr.get().first() != 0)) {
            throw new StorageException(
                    "GET bytes=0-0 "
                            + Redaction.uri(uri)
                            + ": HTTP "
                            + r.getCode()
                            + " with unusable Content-Range "
                            + header,
                    false);
        }
        return cr.get().total();
    }

    private HttpUriRequestBase rangeRequest(URI uri, ObjectVersion pinned, String range) {
        HttpUriRequestBase b = request("GET", uri);
        b.setHeader("Range", range);
        String token = pinned.etag();
        if (HttpVersionTokens.isStrongEtag(token)) {
            b.setHeader("If-Match", token);
        }
        HttpVersionTokens.lastModified(token)
                .ifPresent(lm -> b.setHeader("If-Unmodified-Since", lm));
        return b;
    }

    private static void checkRangeResponse(
            URI uri,
            ObjectVersion pinned,
            long offset,
            long length,
            String range,
            ClassicHttpResponse r)
            throws StorageException {
        String what = "GET " + range;
        if (r.getCode() != 206) {
            throw HttpStatusErrors.of(what, uri, r.getCode(), r);
        }
        checkIdentityEncoding(what, uri, r);
        if (HttpVersionTokens.changed(pinned.etag(), r)) {
            throw new StorageException(
                    "object changed: "
                            + what
                            + " "
                            + Redaction.uri(uri)
                            + " pinned at "
                            + pinned
                            + ", server sent ETag "
                            + HttpStatusErrors.first(r, "ETag").orElse("(none)"),
                    false);
        }
        checkContentRange(what, uri, pinned, offset, length, r);
    }

    private static void checkContentRange(
            String what, URI uri, ObjectVersion pinned, long offset, long length, MessageHeaders h)
            throws StorageException {
        String header = HttpStatusErrors.first(h, "Content-Range").orElse(null);
        Optional<ContentRange> cr = ContentRange.parse(header);
        if (cr.isPresent()
                && cr.get().first() == offset
                && cr.get().total() >= 0
                && cr.get().total() != pinned.size()) {
            throw new StorageException(
                    "object changed: "
                            + what
                            + " "
                            + Redaction.uri(uri)
                            + " has "
                            + cr.get().total()
                            + " bytes, pinned at "
                            + pinned,
                    false);
        }
        if (cr.isEmpty() || !cr.get().matches(offset, length, pinned.size())) {
            throw new StorageException(
                    what
                            + " "
                            + Redaction.uri(uri)
                            + ": HTTP 206 with Content-Range "
                            + header
                            + ", expected bytes "
                            + offset
                            + "-"
                            + (offset + length - 1)
                            + "/"
                            + pinned.size(),
                    false);
        }
        Optional<String> contentLength = HttpStatusErrors.first(h, "Content-Length");
        if (contentLength.isPresent() && !contentLength.get().equals(Long.toString(length))) {
            throw new StorageException(
                    what
                            + " "
                            + Redaction.uri(uri)
                            + ": HTTP 206 with Content-Length "
                            + contentLength.get()
                            + ", expected "
                            + length,
                    false);
        }
    }

    private static void checkIdentityEncoding(String what, URI uri, MessageHeaders h)
            throws StorageException {
        for (Header header : h.getHeaders("Content-Encoding")) {
            String e = Objects.toString(header.getValue(), "");
            if (!e.isBlank() && !"identity".equalsIgnoreCase(e.trim())) {
                throw new StorageException(
                        what
                                + " "
                                + Redaction.uri(uri)
                                + ": Content-Encoding "
                                + e
                                + " (only identity is accepted: ranges must be of stored bytes)",
                        false);
            }
        }
    }

    private static long contentLength(MessageHeaders h, String what, URI uri)
            throws StorageException {
        Optional<String> v = HttpStatusErrors.first(h, "Content-Length");
        try {
            long size = Long.parseLong(v.orElseThrow().trim());
            if (size >= 0) {
                return size;
            }
        } catch (RuntimeException e) {
            // fall through
        }
        throw new StorageException(
                what
                        + " "
                        + Redaction.uri(uri)
                        + ": no usable Content-Length ("
                        + v.orElse("absent")
                        + ")",
                false);
    }

    /**
     * A request for {@code uri}. User info in the URI ({@code http://user:password@host/...})
     * becomes HTTP Basic authentication (RFC 7617), as curl does, and never part of the request
     * line; a bearer token, when set, wins.
     */
    private HttpUriRequestBase request(String method, URI uri) {
        HttpUriRequestBase b = new HttpUriRequestBase(method, withoutUserInfo(uri));
        b.setHeader("Accept-Encoding", "identity");
        if (bearerToken.isPresent()) {
            b.setHeader("Authorization", "Bearer " + bearerToken.get());
        } else if (uri.getRawUserInfo() != null) {
            String credentials =
                    java.net.URLDecoder.decode(
                            uri.getRawUserInfo().replace("+", "%2B"),
                            java.nio.charset.StandardCharsets.UTF_8);
            b.setHeader(
                    "Authorization",
                    "Basic "
                            + java.util.Base64.getEncoder()
                                    .encodeToString(
                                            credentials.getBytes(
                                                    java.nio.charset.StandardCharsets.UTF_8)));
        }
        return b;
    }

    /** {@code uri} without its user info (the request line never carries credentials). */
    static URI withoutUserInfo(URI uri) {
        if (uri.getRawUserInfo() == null) {
            return uri;
        }
        StringBuilder b = new StringBuilder(uri.getScheme()).append("://").append(uri.getHost());
        if (uri.getPort() >= 0) {
            b.append(':').append(uri.getPort());
        }
        b.append(uri.getRawPath() == null ? "" : uri.getRawPath());
        if (uri.getRawQuery() != null) {
            b.append('?').append(uri.getRawQuery()); // raw: a presigned URL's encoding kept
        }
        try {
            return new URI(b.toString());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("bad URI " + Redaction.uri(uri), e);
        }
    }

    private Exchange send(HttpUriRequestBase request, URI uri) throws IOException {
        HttpUriRequestBase current = request;
        URI at = withoutUserInfo(uri);
        for (int hops = 0; ; hops++) {
            Exchange x = sendOnce(current, at, uri);
            Optional<URI> target = HttpRedirects.target(at, x.response);
            if (target.isEmpty()) {
                return x;
            }
            x.abort();
            if (hops == HttpRedirects.MAX_REDIRECTS) {
                throw new StorageException(
                        request.getMethod()
                                + " "
                                + Redaction.uri(uri)
                                + ": more than "
                                + HttpRedirects.MAX_REDIRECTS
                                + " redirects",
                        false);
            }
            current = HttpRedirects.follow(current, at, target.get());
            at = target.get();
        }
    }

    /** Sends {@code request} (for {@code at}, reached from {@code uri}) once. */
    private Exchange sendOnce(HttpUriRequestBase request, URI at, URI uri) throws IOException {
        String what = request.getMethod() + " " + Redaction.uri(uri);
        try {
            return new Exchange(request, client.executeOpen(null, request, null));
        } catch (SSLHandshakeException | SSLPeerUnverifiedException e) {
            throw new StorageException(
                    what + ": TLS handshake failed: " + e.getMessage(), false, e);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) {
                InterruptedIOException i = new InterruptedIOException(what + " interrupted");
                i.initCause(e);
                throw i;
            }
            // timeouts included: SocketTimeoutException is an InterruptedIOException, and
            // RangeReads stops at those; here they are transient network faults
            throw new StorageException(what + " failed: " + e, true, e);
        }
    }

    private static PoolingHttpClientConnectionManager connectionManager(
            Duration connectTimeout, Duration requestTimeout, int maxConnections) {
        return PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(maxConnections)
                .setMaxConnPerRoute(maxConnections)
                .setConnectionFactory(
                        ManagedHttpClientConnectionFactory.builder()
                                .http1Config(
                                        Http1Config.custom()
                                                .setBufferSize(SOCKET_BUFFER_BYTES)
                                                .build())
                                .build())
                .setDefaultConnectionConfig(
                        ConnectionConfig.custom()
                                .setConnectTimeout(timeout(connectTimeout))
                                .setSocketTimeout(timeout(requestTimeout))
                                // a pooled connection idle this long is checked before reuse
                                .setValidateAfterInactivity(TimeValue.ofSeconds(2))
                                .build())
                .build();
    }

    private static Timeout timeout(Duration d) {
        return Timeout.ofMilliseconds(Math.max(1, d.toMillis()));
    }

    /** One request and its response, headers read, body not yet. */
    private record Exchange(HttpUriRequestBase request, ClassicHttpResponse response) {
        /** The body of {@code length} bytes; its close releases or aborts the connection. */
        InputStream body(long length) throws IOException {
            HttpEntity entity = response.getEntity();
            if (entity == null) {
                throw new IOException("no response body");
            }
            return new HttpBodyInputStream(entity.getContent(), request, response, length);
        }

        /** Ends an exchange that has no body, returning its connection to the pool. */
        void release() throws IOException {
            response.close();
        }

        /** Ends the exchange without reading what is left of the body. */
        void abort() {
            HttpBodyInputStream.abort(request);
        }
    }
}
