package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.warmstage.cache.CacheEntry;
import io.warmstage.cache.CacheOptions;
import io.warmstage.cache.LocalCache;
import io.warmstage.cache.PeerCopies;
import io.warmstage.format.HeaderParser;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RetryPolicy;
import io.warmstage.testing.SharedData;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that loses its copy while a file's splits are being read from it (its entry evicted or
 * pruned: every request answers 404 from then on). Every split whose peer read fails must be read
 * from the origin, whichever of them fails first; none may turn into a failure of the file.
 */
class PeerFallbackTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    private HttpServer peer;

    @AfterEach
    void stop() {
        if (peer != null) {
            peer.stop(0);
        }
    }

    @Test
    void everySplitReadFromAPeerThatLostItsCopyFallsBackToTheOrigin() throws Exception {
        byte[] origin = Files.readAllBytes(CNN);
        URI uri = CNN.toUri();
        ObjectStores stores = ObjectStores.create(new Configuration());
        ObjectVersion version = stores.forUri(uri).stat(uri);
        String key = LocalCache.keyOf(Map.of(), uri, version);
        assertThat(key).isNotNull();
        byte[] sidecar =
                new ObjectMapper()
                        .writeValueAsBytes(
                                new CacheEntry(
                                        uri.toString(),
                                        origin.length,
                                        version.etag(),
                                        0L,
                                        null,
                                        "t",
                                        0L,
                                        List.of(0L)));
        peer = losingPeer(key, sidecar, origin.length);

        Configuration c = new Configuration();
        c.setString(CacheOptions.PEERS.key(), "http://127.0.0.1:" + peer.getAddress().getPort());
        long headerEnd = HeaderParser.read(CNN).dataStart();
        DataSplit header = split(version, headerEnd, 0, headerEnd);
        DataSplit data = split(version, headerEnd, headerEnd, origin.length - headerEnd);
        BufferPool.Lease lease = BufferPool.create(64 << 20).lease();
        RetryPolicy quick =
                new RetryPolicy(
                        2, Duration.ofMillis(10), Duration.ofMillis(10), Duration.ofSeconds(5));
        ChunkSplitReader reader =
                new ChunkSplitReader(stores, quick, null, 16 << 10, 2, lease)
                        .withPeers(PeerCopies.of(c).orElseThrow(), 0);
        try {
            reader.handleSplitsChanges(new SplitsAddition<>(List.of(header, data)));
            List<ChunkRecord> records = new ArrayList<>();
            int finished = 0;
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (finished < 2 && System.nanoTime() < deadline) {
                finished += drain(reader.fetch(), records);
            }
            assertThat(finished).as("both splits finished").isEqualTo(2);
            assertThat(records.stream().filter(ChunkRecord::isFailure).map(r -> r.error))
                    .as("failure records")
                    .isEmpty();
            byte[] got = new byte[origin.length];
            long total = 0;
            for (ChunkRecord r : records) {
                byte[] b = new byte[r.length()];
                r.bytes().get(b);
                System.arraycopy(b, 0, got, (int) r.offset, b.length);
                total += b.length;
            }
            assertThat(total).isEqualTo(origin.length);
            assertThat(got).isEqualTo(origin);
        } finally {
            reader.close();
        }
    }

    /**
     * Serves the sidecar and the data file's size, as a peer holding the copy does; then loses the
     * copy: the read of the file's first bytes answers 404 at once, every other read 404 after 500
     * ms (it was in flight when the copy went).
     */
    private static HttpServer losingPeer(String key, byte[] sidecar, long size) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        s.createContext(
                "/",
                x -> {
                    try (x) {
                        answer(x, key, sidecar, size);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
        s.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        s.start();
        return s;
    }

    private static void answer(HttpExchange x, String key, byte[] sidecar, long size)
            throws java.io.IOException, InterruptedException {
        String path = x.getRequestURI().getPath();
        boolean head = "HEAD".equals(x.getRequestMethod());
        var h = x.getResponseHeaders();
        if (path.equals("/v1/entries/" + key + ".json")) {
            h.set("ETag", "\"s\"");
            h.set("Content-Length", Integer.toString(sidecar.length));
            if (head) {
                x.sendResponseHeaders(200, -1);
                return;
            }
            h.set("Content-Range", "bytes 0-" + (sidecar.length - 1) + "/" + sidecar.length);
            x.sendResponseHeaders(206, sidecar.length);
            x.getResponseBody().write(sidecar);
        } else if (path.equals("/v1/entries/" + key) && head) {
            h.set("ETag", "\"" + key + "\"");
            h.set("Content-Length", Long.toString(size));
            x.sendResponseHeaders(200, -1);
        } else if (path.equals("/v1/entries/" + key)) {
            String range = String.valueOf(x.getRequestHeaders().getFirst("Range"));
            if (!range.startsWith("bytes=0-")) {
                Thread.sleep(500);
            }
            x.sendResponseHeaders(404, -1);
        } else {
            x.sendResponseHeaders(404, -1);
        }
    }

    private static DataSplit split(ObjectVersion v, long headerEnd, long offset, long length) {
        return new DataSplit(
                "0:cnn@" + offset,
                "cnn",
                1,
                new FileId(CNN.toUri().toString(), v),
                headerEnd,
                offset,
                length,
                List.of(),
                List.of(Destination.of(0)),
                0);
    }

    private static int drain(RecordsWithSplitIds<ChunkRecord> batch, List<ChunkRecord> out) {
        int finished = 0;
        while (batch.nextSplit() != null) {
            ChunkRecord r;
            while ((r = batch.nextRecordFromSplit()) != null) {
                out.add(r);
            }
        }
        finished += batch.finishedSplits().size();
        return finished;
    }
}
