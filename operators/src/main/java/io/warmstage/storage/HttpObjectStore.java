package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;

/**
 * {@link ObjectStore} for {@code http://} and {@code https://} URIs (presigned URLs included), on
 * {@link java.net.http.HttpClient}: HTTP/2 where the server offers it, else HTTP/1.1; redirects
 * followed the {@code NORMAL} way (never https to http); TLS certificates verified with the JVM's
 * trust store.
 *
 * <p>Every ranged read follows DESIGN.md storage rules and RFC 9110 range requests: {@code GET}
 * with {@code Range: bytes=a-b} (64-bit numbers), {@code Accept-Encoding: identity} and {@code
 * If-Match} on a pinned strong ETag ({@code If-Unmodified-Since} on a pinned Last-Modified); the
 * answer must be 206 with {@code Content-Range: bytes a-b/size}, no Content-Encoding other than
 * identity and the pinned ETag. Anything else is a {@link StorageException}, never data.
 *
 * <p>Closing a range's stream before its end closes the {@code HttpClient} body stream, which
 * cancels the exchange: HTTP/1.1 closes the connection, HTTP/2 resets the stream. Nothing is
 * drained.
 *
 * <p>The bearer token is sent as {@code Authorization: Bearer …} and appears in no message, log or
 * {@link #toString()}. Note that {@code HttpClient} may send it along a redirect.
 */
public final class HttpObjectStore implements ObjectStore {
    /**
     * Body buffer size for {@code java.net.http} (its system property {@code
     * jdk.httpclient.bufsize}; the JDK's default is 16 KiB). Every buffer costs the client an
     * allocation, a queue hand-off and a thread wake-up; at 256 KiB a multi-GB body takes 16x fewer
     * of them (2 GB model over nginx, 3 profiled runs each: the HTTP client and reader CPU time
     * down by about a third). The property is JVM-wide and read once, when the JDK's HTTP client is
     * first used: it is set here, before this class builds a client, unless already set (an
     * explicit {@code -Djdk.httpclient.bufsize} wins).
     */
    static final int BODY_BUFFER_BYTES = 256 << 10;

    static {
        if (System.getProperty("jdk.httpclient.bufsize") == null) {
            System.setProperty("jdk.httpclient.bufsize", Integer.toString(BODY_BUFFER_BYTES));
        }
    }

    private final HttpClient client;
    private final Duration requestTimeout;
    private final Duration stallTimeout;
    private final Optional<String> bearerToken;

    /** As the full constructor, with the request timeout as stall timeout. */
    public HttpObjectStore(
            Duration connectTimeout, Duration requestTimeout, Optional<String> bearerToken) {
        this(connectTimeout, requestTimeout, requestTimeout, bearerToken);
    }

    /**
     * @param connectTimeout limit for opening a connection
     * @param requestTimeout limit from sending a request until its response headers arrive
     * @param stallTimeout longest time a body may deliver no byte before it is closed and the read
     *     fails as retryable ({@link RangeReads} resumes from the missing byte)
     * @param bearerToken sent as {@code Authorization: Bearer <token>} when present
     */
    public HttpObjectStore(
            Duration connectTimeout,
            Duration requestTimeout,
            Duration stallTimeout,
            Optional<String> bearerToken) {
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
        this.bearerToken = Objects.requireNonNull(bearerToken, "bearerToken");
        this.client =
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_2)
                        .followRedirects(HttpClient.Redirect.NEVER) // see HttpRedirects
                        .connectTimeout(connectTimeout)
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
        HttpResponse<InputStream> r = send(request(uri).method("HEAD", noBody()).build(), uri);
        try (InputStream ignored = r.body()) {
            if (r.statusCode() == 405 || r.statusCode() == 501) {
                return statByRangedGet(uri);
            }
            if (r.statusCode() != 200) {
                throw HttpStatusErrors.of("HEAD", uri, r.statusCode(), r.headers());
            }
            checkIdentityEncoding("HEAD", uri, r.headers());
            long size = contentLength(r.headers(), "HEAD", uri);
            return new ObjectVersion(size, HttpVersionTokens.of(r.headers()));
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
        HttpResponse<InputStream> r = send(rangeRequest(uri, pinned, range), uri);
        try {
            checkRangeResponse(uri, pinned, offset, length, range, r);
        } catch (IOException | RuntimeException e) {
            r.body().close(); // aborts; an error body is never drained
            throw e;
        }
        return new ExactRangeInputStream(
                new StallGuardInputStream(r.body(), uri, stallTimeout), uri, offset, length);
    }

    /** Shuts the client down on JDKs where {@code HttpClient} is closeable (21+). */
    @Override
    public void close() throws IOException {
        if (client instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IOException("closing the HTTP client failed", e);
            }
        }
    }

    @Override
    public String toString() {
        return "HttpObjectStore[requestTimeout="
                + requestTimeout
                + ", bearerToken="
                + (bearerToken.isPresent() ? "set" : "none")
                + "]";
    }

    private ObjectVersion statByRangedGet(URI uri) throws IOException {
        HttpRequest get = request(uri).GET().header("Range", "bytes=0-0").build();
        HttpResponse<InputStream> r = send(get, uri);
        try (InputStream ignored = r.body()) { // closing early aborts; never drains
            String what = "GET bytes=0-0";
            int status = r.statusCode();
            if (status != 206 && status != 200 && status != 416) {
                throw HttpStatusErrors.of(what, uri, status, r.headers());
            }
            checkIdentityEncoding(what, uri, r.headers());
            long size = status == 200 ? contentLength(r.headers(), what, uri) : total(r, uri);
            return new ObjectVersion(size, HttpVersionTokens.of(r.headers()));
        }
    }

    private long total(HttpResponse<?> r, URI uri) throws StorageException {
        String header = r.headers().firstValue("Content-Range").orElse(null);
        Optional<ContentRange> cr = ContentRange.parse(header);
        boolean ok = cr.isPresent() && cr.get().total() >= 0;
        if (!ok || (r.statusCode() == 206 && cr.get().first() != 0)) {
            throw new StorageException(
                    "GET bytes=0-0 "
                            + Redaction.uri(uri)
                            + ": HTTP "
                            + r.statusCode()
                            + " with unusable Content-Range "
                            + header,
                    false);
        }
        return cr.get().total();
    }

    private HttpRequest rangeRequest(URI uri, ObjectVersion pinned, String range) {
        HttpRequest.Builder b = request(uri).GET().header("Range", range);
        String token = pinned.etag();
        if (HttpVersionTokens.isStrongEtag(token)) {
            b.header("If-Match", token);
        }
        HttpVersionTokens.lastModified(token).ifPresent(lm -> b.header("If-Unmodified-Since", lm));
        return b.build();
    }

    private void checkRangeResponse(
            URI uri,
            ObjectVersion pinned,
            long offset,
            long length,
            String range,
            HttpResponse<?> r)
            throws StorageException {
        String what = "GET " + range;
        if (r.statusCode() != 206) {
            throw HttpStatusErrors.of(what, uri, r.statusCode(), r.headers());
        }
        checkIdentityEncoding(what, uri, r.headers());
        if (HttpVersionTokens.changed(pinned.etag(), r.headers())) {
            throw new StorageException(
                    "object changed: "
                            + what
                            + " "
                            + Redaction.uri(uri)
                            + " pinned at "
                            + pinned
                            + ", server sent ETag "
                            + r.headers().firstValue("ETag").orElse("(none)"),
                    false);
        }
        checkContentRange(what, uri, pinned, offset, length, r.headers());
    }

    private static void checkContentRange(
            String what, URI uri, ObjectVersion pinned, long offset, long length, HttpHeaders h)
            throws StorageException {
        String header = h.firstValue("Content-Range").orElse(null);
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
        Optional<String> contentLength = h.firstValue("Content-Length");
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

    private static void checkIdentityEncoding(String what, URI uri, HttpHeaders h)
            throws StorageException {
        List<String> encodings = h.allValues("Content-Encoding");
        for (String e : encodings) {
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

    private static long contentLength(HttpHeaders h, String what, URI uri) throws StorageException {
        Optional<String> v = h.firstValue("Content-Length");
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

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(uri)
                        .timeout(requestTimeout)
                        .header("Accept-Encoding", "identity");
        bearerToken.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        return b;
    }

    private HttpResponse<InputStream> send(HttpRequest request, URI uri) throws IOException {
        HttpRequest current = request;
        for (int hops = 0; ; hops++) {
            HttpResponse<InputStream> r = sendOnce(current, uri);
            Optional<URI> target = HttpRedirects.target(r);
            if (target.isEmpty()) {
                return r;
            }
            r.body().close();
            if (hops == HttpRedirects.MAX_REDIRECTS) {
                throw new StorageException(
                        request.method()
                                + " "
                                + Redaction.uri(uri)
                                + ": more than "
                                + HttpRedirects.MAX_REDIRECTS
                                + " redirects",
                        false);
            }
            current = HttpRedirects.follow(current, target.get());
        }
    }

    private HttpResponse<InputStream> sendOnce(HttpRequest request, URI uri) throws IOException {
        String what = request.method() + " " + Redaction.uri(uri);
        try {
            return client.send(request, BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(what + " interrupted");
        } catch (SSLHandshakeException e) {
            throw new StorageException(
                    what + ": TLS handshake failed: " + e.getMessage(), false, e);
        } catch (IOException e) {
            throw new StorageException(what + " failed: " + e, true, e);
        }
    }

    private static HttpRequest.BodyPublisher noBody() {
        return HttpRequest.BodyPublishers.noBody();
    }
}
