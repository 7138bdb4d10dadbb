package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * The ranged-read path of Warmstage's former {@code java.net.http} store, kept as the baseline of
 * {@link HttpClientBench}: the same request (Range, Accept-Encoding identity, If-Match, HTTP/2
 * preferred), the same 206 and Content-Range check and the same body wrappers (stall guard, exact
 * range). Not a production store: no redirects, no HEAD fallback. The body buffer is the JDK's
 * {@code -Djdk.httpclient.bufsize} (the former store set 256 KiB).
 */
final class JdkHttpRangeStore implements ObjectStore {
    private final HttpClient client =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_2)
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();

    @Override
    public ObjectVersion stat(URI uri) throws IOException {
        HttpResponse<Void> r =
                send(
                        request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                        HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() != 200) {
            throw new StorageException("HEAD " + uri + ": HTTP " + r.statusCode(), false);
        }
        long size = Long.parseLong(r.headers().firstValue("Content-Length").orElseThrow());
        return new ObjectVersion(size, r.headers().firstValue("ETag").orElse(null));
    }

    @Override
    public InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException {
        String range = ContentRange.rangeHeader(offset, length);
        HttpRequest.Builder b = request(uri).GET().header("Range", range);
        if (HttpVersionTokens.isStrongEtag(pinned.etag())) {
            b.header("If-Match", pinned.etag());
        }
        HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        Optional<ContentRange> cr =
                ContentRange.parse(r.headers().firstValue("Content-Range").orElse(null));
        if (r.statusCode() != 206
                || cr.isEmpty()
                || !cr.get().matches(offset, length, pinned.size())) {
            r.body().close();
            throw new StorageException("GET " + range + ": HTTP " + r.statusCode(), false);
        }
        return new ExactRangeInputStream(
                new StallGuardInputStream(r.body(), uri, Duration.ofSeconds(30)),
                uri,
                offset,
                length);
    }

    @Override
    public void close() {}

    private static HttpRequest.Builder request(URI uri) {
        return HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(60))
                .header("Accept-Encoding", "identity");
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        try {
            return client.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }
}
