package io.warmstage.storage;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty 12 handler serving byte arrays (and large virtual objects synthesized on the fly) with RFC
 * 9110 range semantics: 206 + Content-Range, ETag, If-Match → 412, HEAD. Faults are switched per
 * test; every request is recorded.
 */
public final class FaultyRangeHandler extends Handler.Abstract {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

    /** A request as the server saw it. */
    public record Seen(
            String method,
            String path,
            String range,
            String ifMatch,
            String authorization,
            String acceptEncoding) {}

    /** A fixed answer for one path. */
    record Fixed(int status, Map<String, String> headers) {}

    private final Map<String, StoredObject> objects = new ConcurrentHashMap<>();
    private final Map<String, Fixed> fixed = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> attemptsPerRange = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger etagCounter = new AtomicInteger();
    private final AtomicInteger cutsLeft = new AtomicInteger();
    private final AtomicInteger stallsLeft = new AtomicInteger();
    private final List<Callback> stalled = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicReference<Runnable> hook =
            new java.util.concurrent.atomic.AtomicReference<>();
    private volatile long hookOffset = Long.MAX_VALUE;
    private final AtomicInteger abortedWrites = new AtomicInteger();

    public volatile int failFirstAttempts;

    /** The next this many HEAD requests are answered 503 SlowDown. */
    public final AtomicInteger headFailures = new AtomicInteger();

    public volatile int failStatus = 503;
    public volatile boolean ignoreRanges;
    public volatile boolean ignoreIfMatch;
    public volatile boolean headNotAllowed;
    public volatile boolean sendEtag = true;

    /** Send neither ETag nor Last-Modified (some static file servers and CDNs). */
    public volatile boolean noValidators;

    /** Send the object's ETag as a weak one, {@code W/"..."}. */
    public volatile boolean weakEtag;

    public volatile long contentRangeShift;
    public volatile String contentEncoding;

    /** Stores {@code bytes} at {@code path} under a new ETag; returns the ETag. */
    public String put(String path, byte[] bytes) {
        String etag = "\"v" + etagCounter.incrementAndGet() + "\"";
        objects.put(path, new StoredObject(bytes.length, etag, bytes));
        return etag;
    }

    /** A virtual object of {@code size} bytes whose byte at p is {@link #virtualByte(long)}. */
    String putVirtual(String path, long size) {
        String etag = "\"virtual" + etagCounter.incrementAndGet() + "\"";
        objects.put(path, new StoredObject(size, etag, null));
        return etag;
    }

    /** The byte at {@code position} of every virtual object. */
    static byte virtualByte(long position) {
        return (byte) (position ^ (position >>> 8) ^ (position >>> 16) ^ (position >>> 32));
    }

    /** Answers every request for {@code path} with {@code status} and {@code headers}. */
    public void fix(String path, int status, Map<String, String> headers) {
        fixed.put(path, new Fixed(status, headers));
    }

    /** The next {@code n} range bodies stop halfway and the connection is aborted. */
    public void cutNextBodies(int n) {
        cutsLeft.set(n);
    }

    /**
     * The next {@code n} range bodies send half their bytes and then nothing: the response stays
     * open until {@link #releaseStalled()}.
     */
    public void stallNextBodies(int n) {
        stallsLeft.set(n);
    }

    /** Ends the responses left open by {@link #stallNextBodies}. */
    public void releaseStalled() {
        stalled.forEach(c -> c.failed(new IllegalStateException("stalled on purpose")));
        stalled.clear();
    }

    /**
     * Runs {@code action} once, before answering the first GET of a range starting at {@code
     * offset} or later.
     */
    public void onFirstGetAbove(long offset, Runnable action) {
        hookOffset = offset;
        hook.set(action);
    }

    public List<Seen> requests() {
        return List.copyOf(seen);
    }

    int abortedWrites() {
        return abortedWrites.get();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        HttpFields h = request.getHeaders();
        seen.add(
                new Seen(
                        request.getMethod(),
                        path,
                        h.get("Range"),
                        h.get("If-Match"),
                        h.get("Authorization"),
                        h.get("Accept-Encoding")));
        Fixed f = fixed.get(path);
        if (f != null) {
            f.headers().forEach(response.getHeaders()::put);
            return empty(response, f.status(), callback);
        }
        runHook(request.getMethod(), h.get("Range"));
        StoredObject o = objects.get(path);
        if (o == null) {
            return empty(response, 404, callback);
        }
        return "HEAD".equals(request.getMethod())
                ? head(o, response, callback)
                : get(o, path, h.get("Range"), h.get("If-Match"), response, callback);
    }

    private void runHook(String method, String range) {
        Matcher m = range == null ? null : RANGE.matcher(range);
        if ("GET".equals(method)
                && m != null
                && m.matches()
                && Long.parseLong(m.group(1)) >= hookOffset) {
            Runnable action = hook.getAndSet(null);
            if (action != null) {
                action.run();
            }
        }
    }

    private boolean head(StoredObject o, Response response, Callback callback) {
        if (headNotAllowed) {
            return empty(response, 405, callback);
        }
        if (headFailures.getAndDecrement() > 0) {
            return empty(response, 503, callback);
        }
        validators(o, response);
        response.getHeaders().put("Content-Length", Long.toString(o.size));
        response.setStatus(200);
        response.write(true, ByteBuffer.allocate(0), callback);
        return true;
    }

    private boolean get(
            StoredObject o,
            String path,
            String range,
            String ifMatch,
            Response response,
            Callback callback) {
        Matcher m = range == null ? null : RANGE.matcher(range);
        if (m == null || !m.matches()) {
            return whole(o, 200, response, callback);
        }
        if (attemptsPerRange
                        .computeIfAbsent(path + range, k -> new AtomicInteger())
                        .incrementAndGet()
                <= failFirstAttempts) {
            return empty(response, failStatus, callback);
        }
        if (ifMatch != null && !ignoreIfMatch && !ifMatch.equals(o.etag)) {
            return empty(response, 412, callback);
        }
        long first = Long.parseLong(m.group(1));
        long last = Math.min(Long.parseLong(m.group(2)), o.size - 1);
        if (first >= o.size) {
            response.getHeaders().put("Content-Range", "bytes */" + o.size);
            return empty(response, 416, callback);
        }
        if (ignoreRanges) {
            return whole(o, 200, response, callback);
        }
        return partial(o, first, last, response, callback);
    }

    private boolean partial(
            StoredObject o, long first, long last, Response response, Callback callback) {
        long shifted = first + contentRangeShift;
        validators(o, response);
        response.getHeaders()
                .put(
                        "Content-Range",
                        "bytes " + shifted + "-" + (last + contentRangeShift) + "/" + o.size);
        if (contentEncoding != null) {
            response.getHeaders().put("Content-Encoding", contentEncoding);
        }
        byte[] body = o.slice(first, last + 1);
        response.getHeaders().put("Content-Length", Integer.toString(body.length));
        response.setStatus(206);
        write(body, response, callback);
        return true;
    }

    private boolean whole(StoredObject o, int status, Response response, Callback callback) {
        validators(o, response);
        byte[] body = o.slice(0, o.size);
        response.getHeaders().put("Content-Length", Integer.toString(body.length));
        response.setStatus(status);
        write(body, response, callback);
        return true;
    }

    private void write(byte[] body, Response response, Callback callback) {
        Callback tracked =
                Callback.from(
                        callback::succeeded,
                        x -> {
                            abortedWrites.incrementAndGet();
                            callback.failed(x);
                        });
        if (stallsLeft.getAndDecrement() > 0) {
            response.write(
                    false,
                    ByteBuffer.wrap(body, 0, body.length / 2),
                    Callback.from(() -> stalled.add(callback), callback::failed));
            return;
        }
        if (cutsLeft.getAndDecrement() > 0) {
            ByteBuffer half = ByteBuffer.wrap(body, 0, body.length / 2);
            response.write(
                    false,
                    half,
                    Callback.from(
                            () -> callback.failed(new IllegalStateException("cut on purpose")),
                            callback::failed));
            return;
        }
        response.write(true, ByteBuffer.wrap(body), tracked);
    }

    private void validators(StoredObject o, Response response) {
        if (weakEtag) {
            response.getHeaders().put("ETag", "W/" + o.etag);
        } else if (noValidators) {
            // neither ETag nor Last-Modified
        } else if (sendEtag) {
            response.getHeaders().put("ETag", o.etag);
        } else {
            response.getHeaders().put("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT");
        }
        response.getHeaders().put("Accept-Ranges", "bytes");
    }

    private static boolean empty(Response response, int status, Callback callback) {
        response.setStatus(status);
        response.getHeaders().put("Content-Length", "0");
        response.write(true, ByteBuffer.allocate(0), callback);
        return true;
    }

    /** A stored object: real bytes, or a virtual one synthesized per range. */
    private static final class StoredObject {
        final long size;
        final String etag;
        final byte[] bytes;

        StoredObject(long size, String etag, byte[] bytes) {
            this.size = size;
            this.etag = etag;
            this.bytes = bytes;
        }

        byte[] slice(long from, long to) {
            byte[] out = new byte[Math.toIntExact(to - from)];
            for (int i = 0; i < out.length; i++) {
                out[i] = bytes != null ? bytes[Math.toIntExact(from + i)] : virtualByte(from + i);
            }
            return out;
        }
    }
}
