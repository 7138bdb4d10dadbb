package io.warmstage.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.warmstage.storage.HttpObjectStore;
import io.warmstage.storage.ObjectVersion;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@link PeerCacheServer} on loopback over a real cache directory, read with Warmstage's own
 * HTTP store ({@link PeerCopies}) and with the JDK's client for the answers the store never asks
 * for (416, 405, several ranges, paths outside the entries).
 */
class PeerCacheServerTest {
    @TempDir Path dir;

    static final URI ORIGIN = URI.create("https://origin.example/models/m/model.safetensors");
    static byte[] bytes;
    static ObjectVersion version;
    CacheEntry published;
    String key;
    PeerCacheServer server;
    HttpClient jdk = HttpClient.newHttpClient();

    @BeforeEach
    void publish() throws Exception {
        bytes = Files.readAllBytes(CacheFixtures.largestRealFile());
        version = new ObjectVersion(bytes.length, "\"etag-1\"");
        LocalCache cache = new LocalCache(dir);
        PendingEntry e = cache.begin(ORIGIN, version);
        e.write(0, ByteBuffer.wrap(bytes));
        published = e.commit(java.util.OptionalInt.empty()); // read back: records every CRC
        assertTrue(published.checkableWhileStaged());
        key = LocalCache.key(ORIGIN, version);
        server = PeerCacheServer.start(dir, new InetSocketAddress("127.0.0.1", 0), 4);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    PeerCopies client(List<URI> peers) {
        return new PeerCopies(
                peers,
                Map.of(),
                new HttpObjectStore(
                        Duration.ofSeconds(2), Duration.ofSeconds(10), Optional.empty()),
                new HttpObjectStore(
                        Duration.ofSeconds(2), Duration.ofSeconds(2), Optional.empty()));
    }

    @Test
    void aPeerCopyIsFoundAndEveryRangeEqualsThePublishedBytes() throws Exception {
        try (PeerCopies peers = client(List.of(server.uri()))) {
            PeerCopies.PeerCopy copy = peers.find(ORIGIN, version, 0).orElseThrow();
            assertEquals(bytes.length, copy.version().size());
            assertEquals(published, copy.entry());
            int n = bytes.length;
            long served = 0;
            for (long[] r : new long[][] {{0, 1}, {0, n}, {n / 3, 65_536}, {n - 1, 1}}) {
                byte[] got;
                try (InputStream in =
                        peers.store().openRange(copy.data(), copy.version(), r[0], r[1])) {
                    got = in.readAllBytes();
                }
                assertArrayEquals(
                        java.util.Arrays.copyOfRange(bytes, (int) r[0], (int) (r[0] + r[1])),
                        got,
                        "range " + r[0] + "+" + r[1]);
                served += r[1];
            }
            assertEquals(served, server.bytesServed());
        }
    }

    @Test
    void anotherVersionOrAnUntrustedOneOrAnUnknownFileIsNotFound() throws Exception {
        try (PeerCopies peers = client(List.of(server.uri()))) {
            assertFalse(
                    peers.find(ORIGIN, new ObjectVersion(bytes.length, "\"etag-2\""), 0)
                            .isPresent());
            assertFalse(peers.find(ORIGIN, new ObjectVersion(bytes.length, null), 0).isPresent());
            assertFalse(
                    peers.find(ORIGIN, new ObjectVersion(bytes.length, "W/\"etag-1\""), 0)
                            .isPresent());
            assertFalse(
                    peers.find(URI.create("https://origin.example/other"), version, 0).isPresent());
        }
    }

    @Test
    void aDeadPeerIsSkippedForTheNextOne() throws Exception {
        URI dead;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = URI.create("http://127.0.0.1:" + s.getLocalPort() + "/");
        } // closed: connections are refused
        try (PeerCopies peers = client(List.of(dead, server.uri()))) {
            for (int spread = 0; spread < 2; spread++) {
                PeerCopies.PeerCopy c = peers.find(ORIGIN, version, spread).orElseThrow();
                assertTrue(c.data().toString().startsWith(server.uri().toString()));
            }
            assertTrue(peers.isDown(dead), "a refused peer is skipped for a while");
            assertFalse(peers.isDown(server.uri()));
        }
    }

    @Test
    void anEntryWithoutTensorChecksumsOrWithAShortDataFileIsNotUsed() throws Exception {
        Files.writeString(
                dir.resolve(key + LocalCache.SIDECAR_SUFFIX),
                LocalCache.JSON.writeValueAsString(
                        new CacheEntry(
                                ORIGIN.toString(), bytes.length, "\"etag-1\"", 5L, null, "t")));
        try (PeerCopies peers = client(List.of(server.uri()))) {
            assertFalse(peers.find(ORIGIN, version, 0).isPresent());
        }
        publish2();
        Path data = dir.resolve(key + LocalCache.DATA_SUFFIX);
        try (var ch =
                java.nio.channels.FileChannel.open(data, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(1000);
        }
        try (PeerCopies peers = client(List.of(server.uri()))) {
            assertFalse(peers.find(ORIGIN, version, 0).isPresent());
        }
        assertEquals(404, get("/v1/entries/" + key, null).statusCode());
    }

    private void publish2() throws Exception {
        server.close();
        Files.deleteIfExists(dir.resolve(key + LocalCache.SIDECAR_SUFFIX));
        publish();
    }

    @Test
    void rangesFollowRfc9110() throws Exception {
        String path = "/v1/entries/" + key;
        int n = bytes.length;
        HttpResponse<byte[]> suffix = get(path, "bytes=-10");
        assertEquals(206, suffix.statusCode());
        assertEquals(
                "bytes " + (n - 10) + "-" + (n - 1) + "/" + n,
                suffix.headers().firstValue("Content-Range").get());
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, n - 10, n), suffix.body());
        HttpResponse<byte[]> open = get(path, "bytes=" + (n - 1000) + "-");
        assertEquals(206, open.statusCode());
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, n - 1000, n), open.body());
        HttpResponse<byte[]> pastEnd = get(path, "bytes=" + n + "-" + (n + 1));
        assertEquals(416, pastEnd.statusCode());
        assertEquals("bytes */" + n, pastEnd.headers().firstValue("Content-Range").get());
        HttpResponse<byte[]> several = get(path, "bytes=0-1,5-6");
        assertEquals(200, several.statusCode());
        assertArrayEquals(bytes, several.body());
        HttpResponse<byte[]> whole = get(path, null);
        assertEquals(200, whole.statusCode());
        assertEquals("\"" + key + "\"", whole.headers().firstValue("ETag").get());
        assertArrayEquals(bytes, whole.body());
        HttpResponse<byte[]> stale =
                jdk.send(
                        HttpRequest.newBuilder(server.uri().resolve(path.substring(1)))
                                .header("If-Match", "\"other\"")
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(412, stale.statusCode());
        HttpResponse<byte[]> head =
                jdk.send(
                        HttpRequest.newBuilder(server.uri().resolve(path.substring(1)))
                                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, head.statusCode());
        assertEquals(Integer.toString(n), head.headers().firstValue("Content-Length").get());
        assertEquals(0, head.body().length);
    }

    @Test
    void ifMatchListsAndWeakTagsFollowRfc9110() {
        String tag = "\"k\"";
        assertTrue(PeerCacheServer.matches(List.of("\"a\", \"k\""), tag));
        assertTrue(PeerCacheServer.matches(List.of("\"a\"", " \"k\" "), tag));
        assertTrue(PeerCacheServer.matches(List.of("*"), tag));
        assertFalse(PeerCacheServer.matches(List.of("W/\"k\""), tag));
        assertFalse(PeerCacheServer.matches(List.of("\"a\", \"b\""), tag));
    }

    @Test
    void nothingButPublishedEntriesIsReachable() throws Exception {
        Files.writeString(dir.resolve("secret.txt"), "no");
        for (String p :
                List.of(
                        "/",
                        "/v1/entries/",
                        "/v1/entries/" + key.toUpperCase(java.util.Locale.ROOT),
                        "/v1/entries/" + key + ".safetensors",
                        "/v1/entries/" + key + ".entry.json",
                        "/v1/entries/../secret.txt",
                        "/secret.txt",
                        "/v1/entries/" + key + "?x=1",
                        "/v1/entries/" + "0".repeat(64))) {
            assertEquals(404, get(p, null).statusCode(), p);
        }
        // an encoded dot segment is an ambiguous path: refused before any handler sees it
        assertEquals(400, get("/v1/entries/%2e%2e/secret.txt", null).statusCode());
        HttpResponse<byte[]> post =
                jdk.send(
                        HttpRequest.newBuilder(server.uri().resolve("v1/entries/" + key))
                                .POST(HttpRequest.BodyPublishers.ofString("x"))
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").get());
    }

    @Test
    void peersAreBaseUrisWithoutCredentials() {
        for (String bad :
                List.of(
                        "ftp://h:1",
                        "http://user:pw@h:1",
                        "http://h:1/cache",
                        "http://h:1?x",
                        "h:1",
                        "http://")) {
            Configuration c = new Configuration();
            c.setString(CacheOptions.PEERS.key(), bad);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> PeerCopies.of(c), bad);
            assertTrue(e.getMessage().startsWith("warmstage.cache.peers: "), e.getMessage());
            assertFalse(e.getMessage().contains("pw"), e.getMessage());
        }
        Configuration ok = new Configuration();
        ok.setString(CacheOptions.PEERS.key(), "http://10.0.0.1:9470;https://h2:9470/");
        assertEquals(
                List.of(URI.create("http://10.0.0.1:9470/"), URI.create("https://h2:9470/")),
                PeerCopies.of(ok).orElseThrow().peers());
        assertFalse(PeerCopies.of(new Configuration()).isPresent());
    }

    private HttpResponse<byte[]> get(String path, String range) throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(server.uri().toString() + path.substring(1)));
        if (range != null) {
            b.header("Range", range);
        }
        return jdk.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }
}
