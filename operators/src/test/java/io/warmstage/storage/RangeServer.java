package io.warmstage.storage;

import java.net.URI;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * An embedded Jetty 12 server on 127.0.0.1 and a free port, serving a {@link FaultyRangeHandler}.
 */
public final class RangeServer implements AutoCloseable {
    public final FaultyRangeHandler handler = new FaultyRangeHandler();
    private final Server server = new Server();
    private final ServerConnector connector = new ServerConnector(server);

    public RangeServer() throws Exception {
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(handler);
        server.start();
    }

    /** {@code http://127.0.0.1:<port><path>}. */
    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + path);
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
