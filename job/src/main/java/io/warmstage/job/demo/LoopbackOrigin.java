package io.warmstage.job.demo;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.content.HttpContent;
import org.eclipse.jetty.http.content.ResourceHttpContentFactory;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.resource.ResourceFactory;

/**
 * An HTTP origin on 127.0.0.1 (or another local address) that serves one directory with range
 * requests and ETags (Jetty's {@link ResourceHandler}), and counts the body bytes and requests it
 * serves.
 */
public final class LoopbackOrigin implements AutoCloseable {
    private final Server server;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final Map<String, AtomicLong> bytesByPath = new ConcurrentHashMap<>();
    private final String host;
    private final int port;
    private volatile long bytesPerSecond;

    private LoopbackOrigin(Path dir, String host) throws Exception {
        this.host = host;
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(host);
        connector.setPort(0);
        server.addConnector(connector);
        // No content cache: a file changed on disk is served (and versioned) as it is now.
        ResourceHandler files =
                new ResourceHandler() {
                    @Override
                    protected HttpContent.Factory newHttpContentFactory(ByteBufferPool.Sized pool) {
                        return new ResourceHttpContentFactory(
                                getBaseResource(), getMimeTypes(), pool);
                    }
                };
        files.setBaseResource(ResourceFactory.of(server).newResource(dir.toUri()));
        files.setAcceptRanges(true);
        files.getResourceService().setEtags(true);
        server.setHandler(new Counting(files));
        server.start();
        port = connector.getLocalPort();
    }

    /**
     * Serves {@code dir} on an ephemeral port of 127.0.0.1.
     *
     * @throws Exception if the server cannot start
     */
    public static LoopbackOrigin serve(Path dir) throws Exception {
        return serve(dir, "127.0.0.1");
    }

    /**
     * Serves {@code dir} on an ephemeral port of {@code address}, one of this machine's own
     * addresses (a private bridge's, say, for clients in other network namespaces).
     *
     * @throws Exception if the server cannot start (the address is not local, say)
     */
    public static LoopbackOrigin serve(Path dir, String address) throws Exception {
        return new LoopbackOrigin(dir.toAbsolutePath(), address);
    }

    /** The http:// URI of {@code relativePath} under the served directory. */
    public URI uri(String relativePath) {
        return URI.create("http://" + host + ":" + port + "/").resolve(relativePath);
    }

    /** Response body bytes served so far. */
    public long bytesServed() {
        return bytes.get();
    }

    /**
     * Response body bytes served so far for one path (e.g. {@code
     * /model-00001-of-00002.safetensors}).
     */
    public long bytesServed(String path) {
        AtomicLong n = bytesByPath.get(path);
        return n == null ? 0 : n.get();
    }

    /**
     * Slows every response body down to about {@code bytesPerSecond} per response (0: full speed),
     * so a test can act while a run is in flight.
     */
    public void throttle(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Requests served so far. */
    public long requests() {
        return requests.get();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    /** Counts the body bytes written through each response. */
    private final class Counting extends Handler.Wrapper {
        Counting(Handler next) {
            super(next);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback)
                throws Exception {
            requests.incrementAndGet();
            if ("HEAD".equals(request.getMethod())) {
                return super.handle(request, response, callback); // Jetty discards HEAD bodies
            }
            AtomicLong path =
                    bytesByPath.computeIfAbsent(
                            request.getHttpURI().getPath(), k -> new AtomicLong());
            return super.handle(request, new CountingResponse(request, response, path), callback);
        }
    }

    private final class CountingResponse extends Response.Wrapper {
        private final AtomicLong path;

        CountingResponse(Request request, Response wrapped, AtomicLong path) {
            super(request, wrapped);
            this.path = path;
        }

        @Override
        public void write(boolean last, ByteBuffer content, Callback callback) {
            if (content != null) {
                bytes.addAndGet(content.remaining());
                path.addAndGet(content.remaining());
                long rate = bytesPerSecond;
                if (rate > 0 && content.remaining() > 0) {
                    try {
                        Thread.sleep(Math.max(1, content.remaining() * 1000L / rate));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            super.write(last, content, callback);
        }
    }
}
