package io.warmstage.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.warmstage.storage.HttpObjectStore;
import io.warmstage.storage.ObjectVersion;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer cache server's answers to unusual requests and entries, and the peers option's checks:
 * empty entries, sidecars no writer wrote, several Range lines, duplicate peers, bad ports, and
 * readers that stop reading while others ask.
 */
class PeerCacheAnswersTest {
    static final URI ORIGIN = URI.create("https://origin.example/models/m/model.safetensors");

    @TempDir Path dir;
    @TempDir Path empty;

    /** Publishes the real fixture file under ORIGIN in {@code cacheDir} and returns its key. */
    private static String publish(Path cacheDir) throws Exception {
        byte[] bytes = Files.readAllBytes(CacheFixtures.largestRealFile());
        ObjectVersion version = new ObjectVersion(bytes.length, "\"etag-1\"");
        PendingEntry e = new LocalCache(cacheDir).begin(ORIGIN, version);
        e.write(0, ByteBuffer.wrap(bytes));
        e.commit(java.util.OptionalInt.empty());
        return LocalCache.key(ORIGIN, version);
    }

    private static ObjectVersion fixtureVersion() throws Exception {
        return new ObjectVersion(Files.size(CacheFixtures.largestRealFile()), "\"etag-1\"");
    }

    /** Writes a sidecar (raw JSON) and a data file by hand under a key; returns the key. */
    private static String writeRaw(Path cacheDir, String sidecarJson, long dataBytes)
            throws Exception {
        String key = "ab".repeat(32);
        Files.writeString(cacheDir.resolve(key + LocalCache.SIDECAR_SUFFIX), sidecarJson);
        try (var ch =
                java.nio.channels.FileChannel.open(
                        cacheDir.resolve(key + LocalCache.DATA_SUFFIX),
                        java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE)) {
            if (dataBytes > 0) {
                ch.write(ByteBuffer.wrap(new byte[] {1}), dataBytes - 1); // sparse
            }
        }
        return key;
    }

    /** The head (status line and headers) of the answer to {@code request}. */
    private static String answerHead(int port, String request, int ms) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(ms);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            byte[] buf = new byte[4096];
            int n;
            try {
                n = s.getInputStream().read(buf);
            } catch (SocketTimeoutException e) {
                return null;
            }
            String all = n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.ISO_8859_1);
            int end = all.indexOf("\r\n\r\n");
            return end < 0 ? all : all.substring(0, end);
        }
    }

    /**
     * A suffix range on a zero-byte entry is unsatisfiable: RFC 9110 section 14.1.3 makes a suffix
     * range satisfiable only for a representation that is not empty, so 416 with "bytes *&#47;0"
     * (as "bytes=0-" on the same entry).
     */
    @Test
    void aSuffixRangeOnAnEmptyEntryIsUnsatisfiable() throws Exception {
        String key =
                writeRaw(
                        dir,
                        new String(
                                LocalCache.JSON.writeValueAsBytes(
                                        new CacheEntry(
                                                ORIGIN.toString(),
                                                0,
                                                "\"e\"",
                                                0L,
                                                null,
                                                "2024-01-01T00:00:00Z")),
                                StandardCharsets.UTF_8),
                        0);
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            int port = server.address().getPort();
            String fromStart =
                    answerHead(
                            port,
                            "GET /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange:"
                                    + " bytes=0-\r\n\r\n",
                            5000);
            assertTrue(fromStart.startsWith("HTTP/1.1 416"), fromStart);
            String suffix =
                    answerHead(
                            port,
                            "GET /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange:"
                                    + " bytes=-5\r\n\r\n",
                            5000);
            assertTrue(suffix.startsWith("HTTP/1.1 416"), suffix);
            assertTrue(suffix.contains("Content-Range: bytes */0"), suffix);
        }
    }

    /**
     * A sidecar that is valid JSON but names no URI (a sidecar no writer wrote) answers 404, as
     * documented, not a server error.
     */
    @Test
    void aSidecarWithoutAUriIsNotFoundRatherThanAServerError() throws Exception {
        String key = writeRaw(dir, "{\"size\":0}", 0);
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            String head =
                    answerHead(
                            server.address().getPort(),
                            "GET /v1/entries/"
                                    + key
                                    + ".json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            5000);
            assertTrue(head.startsWith("HTTP/1.1 404"), head);
        }
    }

    /** A sidecar file holding the JSON literal null answers 404, not a server error. */
    @Test
    void aSidecarOfJsonNullIsNotFoundRatherThanAServerError() throws Exception {
        String key = writeRaw(dir, "null", 0);
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            String head =
                    answerHead(
                            server.address().getPort(),
                            "HEAD /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            5000);
            assertTrue(head.startsWith("HTTP/1.1 404"), head);
        }
    }

    /**
     * A peer listed twice (a copy-paste slip, or one host under two spellings that {@link
     * PeerCopies#configured} normalizes to the same base URI) is asked once, so it does not spend
     * both of the {@link PeerCopies#TRIES} tries and the peer that holds the file is asked.
     */
    @Test
    void aPeerListedTwiceDoesNotHideTheOneThatHoldsTheFile() throws Exception {
        String key = publish(dir);
        try (PeerCacheServer holder =
                        PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2);
                PeerCacheServer lacking =
                        PeerCacheServer.start(empty, new InetSocketAddress("127.0.0.1", 0), 2)) {
            int lp = lacking.address().getPort();
            Configuration c = new Configuration();
            c.setString(
                    CacheOptions.PEERS.key(),
                    "http://127.0.0.1:" + lp + ";HTTP://127.0.0.1:" + lp + "/;" + holder.uri());
            List<URI> configured = PeerCopies.configured(c);
            try (PeerCopies peers = PeerCopies.of(c).orElseThrow()) {
                for (int spread = 0; spread < 3; spread++) {
                    assertTrue(
                            peers.find(ORIGIN, fixtureVersion(), spread).isPresent(),
                            "spread "
                                    + spread
                                    + ", key "
                                    + key
                                    + ": peers "
                                    + configured
                                    + "; the holder was never asked");
                }
            }
        }
    }

    /**
     * {@link PeerCopies#configured} (the check stage runs before the job) rejects a peer whose port
     * is out of range, naming the entry, rather than every reader failing on it per file.
     */
    @Test
    void aPeerWithAPortOutOfRangeIsRejectedUpFront() {
        Configuration c = new Configuration();
        c.setString(CacheOptions.PEERS.key(), "http://10.0.0.7:94700");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> PeerCopies.configured(c));
        assertTrue(e.getMessage().contains("94700"), e.getMessage());
    }

    /**
     * Readers that stop reading a large answer (a reader whose buffers are full: Flink
     * back-pressure) hold no serving thread: a peer's probe (HEAD, within the default peer-timeout
     * of 2 s) is answered at once. Were bodies written with blocking writes, the probe would wait
     * behind them, time out, and the client would mark the healthy peer down for a minute.
     */
    @Test
    void readersThatStopReadingABodyDoNotStarveProbes() throws Exception {
        long size = 256L << 20; // far beyond what loopback socket buffers hold
        String key =
                writeRaw(
                        dir,
                        new String(
                                LocalCache.JSON.writeValueAsBytes(
                                        new CacheEntry(
                                                ORIGIN.toString(),
                                                size,
                                                "\"e\"",
                                                null,
                                                null,
                                                "2024-01-01T00:00:00Z")),
                                StandardCharsets.UTF_8),
                        size);
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            int port = server.address().getPort();
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.setReceiveBufferSize(64 << 10);
                    OutputStream out = s.getOutputStream();
                    out.write(
                            ("GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n")
                                    .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush(); // and never reads the answer
                    stalled.add(s);
                }
                Thread.sleep(1000);
                long t0 = System.nanoTime();
                String head =
                        answerHead(
                                port,
                                "HEAD /v1/entries/"
                                        + key
                                        + ".json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                (int) CacheOptions.PEER_TIMEOUT.defaultValue().toMillis());
                assertTrue(
                        head != null && head.startsWith("HTTP/1.1 200"),
                        "a probe within the default peer-timeout while 8 readers are paused: "
                                + head
                                + " after "
                                + (System.nanoTime() - t0) / 1_000_000
                                + " ms");
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
        }
    }

    /**
     * Two Range header lines are several ranges: ignored, as documented, with 200 and the whole
     * file.
     */
    @Test
    void twoRangeHeaderLinesAreIgnoredAsSeveralRanges() throws Exception {
        String key = publish(dir);
        try (PeerCacheServer server =
                PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 2)) {
            String head =
                    answerHead(
                            server.address().getPort(),
                            "GET /v1/entries/"
                                    + key
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange:"
                                    + " bytes=0-0\r\nRange: bytes=5-9\r\n\r\n",
                            5000);
            assertTrue(head.startsWith("HTTP/1.1 200"), head);
        }
    }

    /** The same probe with no paused readers answers at once (the fixture itself works). */
    @Test
    void probeAnswersWhenNothingIsPaused() throws Exception {
        String key = publish(dir);
        try (PeerCacheServer server =
                        PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 1);
                PeerCopies peers =
                        new PeerCopies(
                                List.of(server.uri()),
                                Map.of(),
                                new HttpObjectStore(
                                        Duration.ofSeconds(2),
                                        Duration.ofSeconds(10),
                                        Optional.empty()),
                                new HttpObjectStore(
                                        Duration.ofSeconds(2),
                                        Duration.ofSeconds(2),
                                        Optional.empty()))) {
            assertEquals(LocalCache.key(ORIGIN, fixtureVersion()), key, "fixture key");
            assertTrue(peers.find(ORIGIN, fixtureVersion(), 0).isPresent());
        }
    }
}
