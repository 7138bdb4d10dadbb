package io.warmstage.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.warmstage.storage.ObjectVersion;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a peer cache server and its client do at the edges: lists, stuck clients, stuck peers. */
class PeerServingEdgesTest {
    static final URI ORIGIN = URI.create("https://origin.example/models/m/model.safetensors");

    @TempDir Path dir;

    /** Publishes the real fixture file under ORIGIN and returns its key. */
    private String publish() throws Exception {
        byte[] bytes = Files.readAllBytes(CacheFixtures.largestRealFile());
        ObjectVersion version = new ObjectVersion(bytes.length, "\"etag-1\"");
        PendingEntry e = new LocalCache(dir).begin(ORIGIN, version);
        e.write(0, ByteBuffer.wrap(bytes));
        e.commit(java.util.OptionalInt.empty());
        return LocalCache.key(ORIGIN, version);
    }

    /** The status line of the answer to {@code request}, or null if none came in {@code ms}. */
    private static String statusLine(int port, String request, int ms) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(ms);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            byte[] buf = new byte[256];
            int n;
            try {
                n = s.getInputStream().read(buf);
            } catch (SocketTimeoutException e) {
                return null;
            }
            return n <= 0
                    ? ""
                    : new String(buf, 0, n, StandardCharsets.ISO_8859_1).split("\r\n")[0];
        }
    }

    @Test
    void anIfMatchListNamingTheCurrentTagIsMet() throws Exception {
        String key = publish();
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            String status =
                    statusLine(
                            server.address().getPort(),
                            "GET /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange:"
                                    + " bytes=0-1\r\nIf-Match: \"old\", \""
                                    + key
                                    + "\"\r\n\r\n",
                            5000);
            // RFC 9110 section 13.1.1: true if any listed tag matches
            assertEquals("HTTP/1.1 206 Partial Content", status);
        }
    }

    @Test
    void clientsThatStopMidRequestDoNotStopTheServerAnsweringOthers() throws Exception {
        String key = publish();
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            int port = server.address().getPort();
            List<Socket> stuck = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) { // as many as the server has threads
                    Socket s = new Socket("127.0.0.1", port);
                    OutputStream out = s.getOutputStream();
                    out.write(("GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n").getBytes());
                    out.flush(); // and never the blank line that ends the request
                    stuck.add(s);
                }
                Thread.sleep(500);
                String status =
                        statusLine(
                                port,
                                "HEAD /v1/entries/"
                                        + key
                                        + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                10_000);
                assertEquals("HTTP/1.1 200 OK", status, "an honest HEAD within 10 s");
            } finally {
                for (Socket s : stuck) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aPeerThatAcceptsButNeverAnswersIsSkippedWithinThePeerTimeout() throws Exception {
        try (ServerSocket wedged = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            // the kernel accepts connections; the process behind it never reads or answers
            Configuration c = new Configuration();
            c.setString(CacheOptions.PEERS.key(), "http://127.0.0.1:" + wedged.getLocalPort());
            c.setString(CacheOptions.PEER_TIMEOUT.key(), "1 s");
            c.setString("warmstage.storage.http.request-timeout", "15 s");
            try (PeerCopies peers = PeerCopies.of(c).orElseThrow()) {
                long t0 = System.nanoTime();
                Optional<PeerCopies.PeerCopy> copy =
                        peers.find(ORIGIN, new ObjectVersion(100, "\"e\""), 0);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertFalse(copy.isPresent());
                assertTrue(ms < 5_000, "the origin is read instead after " + ms + " ms");
            }
        }
    }

    @Test
    void aServerBoundToTheWildcardAddressAdvertisesAnAddressPeersCanReach() throws Exception {
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("0.0.0.0", 0), 1)) {
            String host = server.uri().getHost().replace("[", "").replace("]", "");
            assertFalse(
                    InetAddress.getByName(host).isAnyLocalAddress(),
                    "advertised " + server.uri() + " for peers to configure");
        }
    }

    @Test
    void serverAnswersAreClosedAndItStillServesAfterManyAbandonedReads() throws Exception {
        String key = publish();
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            int port = server.address().getPort();
            for (int i = 0; i < 200; i++) {
                try (Socket s = new Socket("127.0.0.1", port)) {
                    s.getOutputStream()
                            .write(
                                    ("GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n")
                                            .getBytes());
                    InputStream in = s.getInputStream();
                    in.read(new byte[512]);
                    s.setSoLinger(true, 0); // reset while the body is still coming
                }
            }
            assertEquals(
                    "HTTP/1.1 200 OK",
                    statusLine(
                            port,
                            "HEAD /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            10_000));
        }
    }

    @Test
    void aSidecarWrittenBeforeRedactionIsServedWithoutItsCredentials() throws Exception {
        // "entries written before redaction hold the URI as given" (CacheEntry)
        URI given =
                URI.create(
                        "https://alice:hunter2@origin.example/m.safetensors?X-Amz-Signature=abc123");
        byte[] bytes = Files.readAllBytes(CacheFixtures.largestRealFile());
        ObjectVersion version = new ObjectVersion(bytes.length, "\"etag-1\"");
        String key = LocalCache.key(given, version);
        Files.write(dir.resolve(key + LocalCache.DATA_SUFFIX), bytes);
        Files.writeString(
                dir.resolve(key + LocalCache.SIDECAR_SUFFIX),
                LocalCache.JSON.writeValueAsString(
                        new CacheEntry(
                                given.toString(),
                                bytes.length,
                                "\"etag-1\"",
                                1L,
                                null,
                                "t",
                                1L,
                                List.of(1L))));
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 1)) {
            java.net.http.HttpResponse<String> json =
                    java.net.http.HttpClient.newHttpClient()
                            .send(
                                    java.net.http.HttpRequest.newBuilder(
                                                    server.uri()
                                                            .resolve("v1/entries/" + key + ".json"))
                                            .build(),
                                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, json.statusCode());
            assertFalse(json.body().contains("hunter2"), json.body());
            assertFalse(json.body().contains("abc123"), json.body());
        }
    }
}
