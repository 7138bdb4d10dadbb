package io.warmstage.source;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.content.HttpContent;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.resource.ResourceFactory;

/**
 * An embedded Jetty 12 server on 127.0.0.1 and a free port serving a folder with Jetty's own {@link
 * ResourceHandler} (range requests with 64-bit numbers, Last-Modified), recording every request it
 * sees.
 *
 * <p>HEAD is answered from the same {@link HttpContent} headers without a body: Jetty 12.1.14's
 * {@code ResourceService} reads the whole file to answer HEAD (20 s for a sparse 5 GiB file).
 */
final class FileServer implements AutoCloseable {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

    /** A request as the server saw it; {@code range} is the Range header or null. */
    record Seen(String method, String path, String range) {
        /** The first byte the Range header asks for; -1 without one. */
        long first() {
            return range == null ? -1 : group(1);
        }

        /** The last byte (inclusive) the Range header asks for; -1 without one. */
        long last() {
            return range == null ? -1 : group(2);
        }

        private long group(int g) {
            Matcher m = RANGE.matcher(range);
            if (!m.matches()) {
                throw new AssertionError("not a single byte range: " + range);
            }
            return Long.parseLong(m.group(g));
        }
    }

    private final Server server = new Server();
    private final ServerConnector connector = new ServerConnector(server);
    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    /** Starts serving {@code folder} at the root path. */
    FileServer(Path folder) throws Exception {
        ResourceHandler files = new ResourceHandler();
        files.setBaseResource(ResourceFactory.of(files).newResource(folder));
        files.setDirAllowed(false);
        // Jetty 12.1.14's multi-buffer file mapping answers 500 ("newLimit > capacity") to a
        // range that starts 5e9 bytes into a 5 GiB file; plain channel reads serve it right.
        files.setUseFileMapping(false);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Recording(files, seen));
        server.start();
    }

    /** {@code http://127.0.0.1:<port>/<name>}. */
    URI uri(String name) {
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/" + name);
    }

    /** Every request so far, in arrival order. */
    List<Seen> requests() {
        return List.copyOf(seen);
    }

    /** The GET requests so far. */
    List<Seen> gets() {
        return seen.stream().filter(s -> s.method().equals("GET")).toList();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    /** Records each request, answers HEAD itself, lets the resource handler answer the rest. */
    private static final class Recording extends Handler.Wrapper {
        private final ResourceHandler files;
        private final List<Seen> seen;

        Recording(ResourceHandler files, List<Seen> seen) {
            super(files);
            this.files = files;
            this.seen = seen;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback)
                throws Exception {
            String path = Request.getPathInContext(request);
            seen.add(new Seen(request.getMethod(), path, request.getHeaders().get("Range")));
            HttpContent content = files.getHttpContentFactory().getContent(path);
            if (!"HEAD".equals(request.getMethod()) || content == null) {
                return super.handle(request, response, callback);
            }
            response.getHeaders().put(content.getContentLength());
            response.getHeaders().put(content.getLastModified());
            response.getHeaders().put("Accept-Ranges", "bytes");
            response.setStatus(200);
            response.write(true, null, callback);
            return true;
        }
    }
}
