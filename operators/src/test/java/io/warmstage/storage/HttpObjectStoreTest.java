package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.storage.FaultyRangeHandler.Seen;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link HttpObjectStore} and {@link RangeReads} against a real Jetty server with real faults. */
class HttpObjectStoreTest {
    private static final String TOKEN = "s3cr3t-t0ken-value";
    private static final RetryPolicy RETRIES =
            new RetryPolicy(
                    5, Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(30));

    private RangeServer server;
    private FaultyRangeHandler handler;
    private HttpObjectStore store;
    private RecordingSleeper sleeper;
    private byte[] data;
    private URI uri;

    @BeforeEach
    void start() throws Exception {
        server = new RangeServer();
        handler = server.handler;
        store =
                new HttpObjectStore(
                        Duration.ofSeconds(5), Duration.ofSeconds(10), Optional.empty());
        sleeper = new RecordingSleeper();
        data = new byte[1 << 20];
        new Random(42).nextBytes(data);
        handler.put("/models/model.safetensors", data);
        uri = server.uri("/models/model.safetensors");
    }

    @AfterEach
    void stop() throws Exception {
        store.close();
        server.close();
    }

    @Test
    void readsABodyOfManySocketBuffersExactly() throws Exception {
        byte[] big = new byte[3 * HttpObjectStore.SOCKET_BUFFER_BYTES + 12345];
        new Random(7).nextBytes(big);
        String etag = handler.put("/models/big.safetensors", big);
        URI bigUri = server.uri("/models/big.safetensors");
        ObjectVersion v = new ObjectVersion(big.length, etag);

        byte[] got;
        try (InputStream in = store.openRange(bigUri, v, 1000, big.length - 2000)) {
            got = in.readAllBytes();
        }

        assertThat(got).isEqualTo(Arrays.copyOfRange(big, 1000, big.length - 1000));
    }

    @Test
    void statReadsSizeAndEtagFromHead() throws Exception {
        String etag = handler.put("/models/model.safetensors", data);

        assertThat(store.stat(uri)).isEqualTo(new ObjectVersion(data.length, etag));
        assertThat(handler.requests()).extracting(Seen::method).containsExactly("HEAD");
    }

    @Test
    void statFallsBackToRangedGetWhenHeadIsNotAllowed() throws Exception {
        handler.headNotAllowed = true;

        ObjectVersion v = store.stat(uri);

        assertThat(v.size()).isEqualTo(data.length);
        assertThat(v.etag()).isEqualTo("\"v1\"");
        assertThat(handler.requests())
                .extracting(Seen::method, Seen::range)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("HEAD", null),
                        org.assertj.core.groups.Tuple.tuple("GET", "bytes=0-0"));
    }

    @Test
    void statUsesLastModifiedWithoutEtagAndRangesStillWork() throws Exception {
        handler.sendEtag = false;

        ObjectVersion v = store.stat(uri);
        byte[] got = read(v, 100, 50);

        assertThat(v.etag()).isEqualTo("last-modified:Wed, 21 Oct 2015 07:28:00 GMT");
        assertThat(got).isEqualTo(Arrays.copyOfRange(data, 100, 150));
        assertThat(handler.requests().get(1).ifMatch()).isNull();
    }

    @Test
    void rangeReturnsExactBytesWithRangeIdentityAndIfMatch() throws Exception {
        ObjectVersion v = store.stat(uri);

        byte[] got = read(v, 1000, 4096);

        assertThat(got).isEqualTo(Arrays.copyOfRange(data, 1000, 5096));
        Seen get = handler.requests().get(1);
        assertThat(get.range()).isEqualTo("bytes=1000-5095");
        assertThat(get.acceptEncoding()).isEqualTo("identity");
        assertThat(get.ifMatch()).isEqualTo(v.etag());
        assertThat(get.authorization()).isNull();
    }

    @Test
    void retriesTwo503sPerRangeThenReturnsTheBytes() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.failFirstAttempts = 2;

        byte[] got = read(v, 10, 70_000);

        assertThat(got).isEqualTo(Arrays.copyOfRange(data, 10, 70_010));
        assertThat(gets()).extracting(Seen::range).containsOnly("bytes=10-70009").hasSize(3);
        assertThat(sleeper.waits())
                .hasSize(2)
                .allSatisfy(w -> assertThat(w).isLessThanOrEqualTo(Duration.ofMillis(20)));
    }

    @Test
    void bodyCutHalfwayResumesFromTheMissingByte() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.cutNextBodies(1);

        byte[] got = read(v, 0, data.length);

        assertThat(got).isEqualTo(data);
        List<Seen> gets = gets();
        assertThat(gets).hasSize(2);
        assertThat(gets.get(0).range()).isEqualTo("bytes=0-" + (data.length - 1));
        long resumedAt = Long.parseLong(gets.get(1).range().replaceAll("bytes=(\\d+)-.*", "$1"));
        assertThat(resumedAt).isGreaterThan(0).isLessThanOrEqualTo(data.length / 2);
        assertThat(gets.get(1).range()).isEqualTo("bytes=" + resumedAt + "-" + (data.length - 1));
    }

    @Test
    void cutBodyIsARetryableShortReadFromTheStream() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.cutNextBodies(1);

        assertThatThrownBy(() -> store.openRange(uri, v, 0, data.length).readAllBytes())
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isTrue())
                .hasMessageContaining("short read: got ")
                .hasMessageContaining(
                        "of " + data.length + " bytes for range [0, " + data.length + ")")
                .hasMessageContaining("/models/model.safetensors");
    }

    @Test
    void wholeBodyAnswerToARangeIsAnErrorNotData() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.ignoreRanges = true;

        assertFailsOnce(v, 0, 100, "HTTP 200", "ignored the range request");
    }

    @Test
    void objectOverwrittenBetweenReadsIsObjectChanged() throws Exception {
        ObjectVersion v = store.stat(uri);
        assertThat(read(v, 0, 10)).isEqualTo(Arrays.copyOf(data, 10));
        handler.put("/models/model.safetensors", data.clone());

        assertFailsOnce(v, 10, 10, 1, "object changed", "412");
    }

    @Test
    void changedEtagIsObjectChangedWhenTheServerIgnoresIfMatch() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.ignoreIfMatch = true;
        handler.put("/models/model.safetensors", data.clone());

        assertFailsOnce(v, 10, 10, "object changed", "\"v2\"");
    }

    @Test
    void forbiddenFailsAtOnceNamingHostPathAndStatus() throws Exception {
        handler.fix("/models/model.safetensors", 403, Map.of());

        assertFailsOnce(new ObjectVersion(data.length, "\"v1\""), 0, 10, "HTTP 403", "Forbidden");
        assertThatThrownBy(() -> store.stat(uri))
                .hasMessageContaining("HEAD")
                .hasMessageContaining("127.0.0.1:")
                .hasMessageContaining("HTTP 403");
    }

    @Test
    void notFoundFailsAtOnceNamingHostPathAndStatus() throws Exception {
        URI missing = server.uri("/models/missing.safetensors?X-Amz-Signature=abc123");

        assertThatThrownBy(() -> read(missing, new ObjectVersion(100, null), 0, 10))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("127.0.0.1:")
                .hasMessageContaining("/models/missing.safetensors")
                .hasMessageContaining("HTTP 404")
                .hasMessageNotContaining("abc123");
        assertThat(handler.requests()).hasSize(1);
    }

    @Test
    void movedPermanentlyNamesTheBucketRegion() throws Exception {
        handler.fix("/models/model.safetensors", 301, Map.of("x-amz-bucket-region", "eu-west-1"));

        assertFailsOnce(new ObjectVersion(data.length, "\"v1\""), 0, 10, "HTTP 301", "eu-west-1");
    }

    @Test
    void gzipContentEncodingOnARangeIsAnError() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.contentEncoding = "gzip";

        assertFailsOnce(v, 0, 100, "Content-Encoding gzip", "/models/model.safetensors");
    }

    @Test
    void contentRangeMismatchIsAnError() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.contentRangeShift = 1;

        assertFailsOnce(
                v,
                100,
                100,
                "Content-Range bytes 101-200/" + data.length,
                "expected bytes 100-199");
    }

    @Test
    void rangeAbove4GiBUses64BitNumbers() throws Exception {
        long size = 6_000_000_000L;
        handler.putVirtual("/big.safetensors", size);
        URI big = server.uri("/big.safetensors");
        ObjectVersion v = store.stat(big);

        byte[] got = read(big, v, 5_000_000_000L, 100);

        assertThat(v.size()).isEqualTo(size);
        assertThat(gets().get(0).range()).isEqualTo("bytes=5000000000-5000000099");
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).isEqualTo(FaultyRangeHandler.virtualByte(5_000_000_000L + i));
        }
    }

    @Test
    void bearerTokenIsSentAndNeverInMessages() throws Exception {
        try (HttpObjectStore authed =
                new HttpObjectStore(
                        Duration.ofSeconds(5), Duration.ofSeconds(10), Optional.of(TOKEN))) {
            ObjectVersion v = authed.stat(uri);
            handler.fix("/models/model.safetensors", 403, Map.of());

            assertThatThrownBy(
                            () ->
                                    RangeReads.readFully(
                                            authed,
                                            uri,
                                            v,
                                            0,
                                            10,
                                            ByteBuffer.allocate(10),
                                            RETRIES,
                                            sleeper))
                    .hasMessageNotContaining(TOKEN);
            assertThat(authed.toString()).doesNotContain(TOKEN);
            assertThat(handler.requests())
                    .extracting(Seen::authorization)
                    .containsOnly("Bearer " + TOKEN);
        }
    }

    @Test
    void redirectToAnotherOriginIsFollowedWithoutTheBearerToken() throws Exception {
        try (RangeServer storage = new RangeServer();
                HttpObjectStore authed =
                        new HttpObjectStore(
                                Duration.ofSeconds(5),
                                Duration.ofSeconds(10),
                                Optional.of(TOKEN))) {
            String etag = storage.handler.put("/bucket/model.safetensors", data);
            URI presigned = storage.uri("/bucket/model.safetensors?X-Amz-Signature=abc");
            handler.fix("/models/model.safetensors", 307, Map.of("Location", presigned.toString()));

            ObjectVersion v = authed.stat(uri);
            ByteBuffer dst = ByteBuffer.allocate(100);
            RangeReads.readFully(authed, uri, v, 500, 100, dst, RETRIES, sleeper);

            assertThat(v).isEqualTo(new ObjectVersion(data.length, etag));
            assertThat(dst.array()).isEqualTo(Arrays.copyOfRange(data, 500, 600));
            assertThat(handler.requests())
                    .extracting(Seen::authorization)
                    .containsOnly("Bearer " + TOKEN);
            assertThat(storage.handler.requests())
                    .extracting(Seen::method, Seen::range, Seen::authorization)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("HEAD", null, null),
                            org.assertj.core.groups.Tuple.tuple("GET", "bytes=500-599", null));
        }
    }

    @Test
    void retriesStopAtTheBudgetNamingAttemptsAndLastCause() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.failFirstAttempts = Integer.MAX_VALUE;
        RetryPolicy policy =
                new RetryPolicy(100, Duration.ZERO, Duration.ZERO, Duration.ofMillis(250));
        RecordingSleeper fullWaits =
                new RecordingSleeper() {
                    @Override
                    public void sleep(Duration d) {
                        super.sleep(d);
                        advance(Duration.ofMillis(100)); // each failed attempt takes 100 ms
                    }
                };

        assertThatThrownBy(
                        () ->
                                RangeReads.readFully(
                                        store,
                                        uri,
                                        v,
                                        0,
                                        10,
                                        ByteBuffer.allocate(10),
                                        policy,
                                        fullWaits))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("after 4 attempts in 300 ms")
                .hasMessageContaining("last cause:")
                .hasMessageContaining("HTTP 503");
        assertThat(gets()).hasSize(4);
    }

    @Test
    void closingARangeEarlyAbortsTheTransfer() throws Exception {
        long size = 64L << 20;
        handler.putVirtual("/huge.bin", size);
        URI huge = server.uri("/huge.bin");
        ObjectVersion v = store.stat(huge);

        try (InputStream in = store.openRange(huge, v, 0, size)) {
            assertThat(in.readNBytes(1024)).hasSize(1024);
        }

        Conditions.await(
                "the server's write to fail",
                Duration.ofSeconds(20),
                () -> handler.abortedWrites() == 1);
    }

    @Test
    void aWholeRangeReturnsItsConnectionToThePoolForTheNextRead() throws Exception {
        ObjectVersion v = store.stat(uri);

        assertThat(read(v, 0, 1000)).isEqualTo(Arrays.copyOf(data, 1000));
        assertThat(read(v, 1000, 1000)).isEqualTo(Arrays.copyOfRange(data, 1000, 2000));

        assertThat(store.poolStats().getLeased()).isZero();
        assertThat(store.poolStats().getAvailable()).as("one kept-alive connection").isEqualTo(1);
    }

    @Test
    void rangesClosedEarlyLeakNoConnection() throws Exception {
        handler.putVirtual("/huge.bin", 64L << 20);
        URI huge = server.uri("/huge.bin");
        try (HttpObjectStore two =
                new HttpObjectStore(
                        Duration.ofSeconds(5),
                        Duration.ofSeconds(2),
                        Duration.ofSeconds(2),
                        Optional.empty(),
                        2)) {
            ObjectVersion v = two.stat(huge);
            for (int i = 0; i < 5; i++) {
                try (InputStream in = two.openRange(huge, v, 0, v.size())) {
                    assertThat(in.readNBytes(10)).hasSize(10);
                }
            }
            byte[] got;
            try (InputStream in = two.openRange(huge, v, 1L << 20, 100)) {
                got = in.readAllBytes();
            }

            for (int i = 0; i < got.length; i++) {
                assertThat(got[i]).isEqualTo(FaultyRangeHandler.virtualByte((1L << 20) + i));
            }
            assertThat(two.poolStats().getLeased()).isZero();
        }
    }

    @Test
    void readRangeFillsDirectAndHeapBuffersWithTheObjectsBytes() throws Exception {
        ObjectVersion v = store.stat(uri);
        int from = 12_345;
        int length = data.length - from - 1;
        ByteBuffer direct = ByteBuffer.allocateDirect(length);
        ByteBuffer heap = ByteBuffer.allocate(length + 10).position(10);

        store.readRange(uri, v, from, direct);
        store.readRange(uri, v, from, heap);

        byte[] expected = Arrays.copyOfRange(data, from, from + length);
        byte[] got = new byte[length];
        direct.flip().get(got);
        assertThat(got).isEqualTo(expected);
        assertThat(heap.position()).isEqualTo(heap.limit());
        assertThat(Arrays.copyOfRange(heap.array(), 10, 10 + length)).isEqualTo(expected);
        assertThat(gets())
                .extracting(Seen::range)
                .containsOnly("bytes=" + from + "-" + (from + length - 1));
    }

    @Test
    void readRangeOfACutBodyIsARetryableShortReadLeavingTheBytesReceived() throws Exception {
        ObjectVersion v = store.stat(uri);
        handler.cutNextBodies(1);
        ByteBuffer dst = ByteBuffer.allocateDirect(data.length);

        assertThatThrownBy(() -> store.readRange(uri, v, 0, dst))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isTrue())
                .hasMessageContaining("short read: got " + dst.position() + " of ");
        byte[] got = new byte[dst.position()];
        dst.flip().get(got);
        assertThat(got).isEqualTo(Arrays.copyOf(data, got.length));
    }

    private void assertFailsOnce(ObjectVersion v, long offset, long length, String... parts) {
        assertFailsOnce(v, offset, length, 0, parts);
    }

    private void assertFailsOnce(
            ObjectVersion v, long offset, long length, int earlierGets, String... parts) {
        assertThatThrownBy(() -> read(v, offset, length))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .satisfies(e -> assertThat(e.getMessage()).contains(parts));
        assertThat(gets()).as("no retry").hasSize(earlierGets + 1);
    }

    private byte[] read(ObjectVersion v, long offset, long length) throws Exception {
        return read(uri, v, offset, length);
    }

    private byte[] read(URI u, ObjectVersion v, long offset, long length) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(Math.toIntExact(length));
        RangeReads.readFully(store, u, v, offset, length, dst, RETRIES, sleeper);
        assertThat(dst.position()).isEqualTo(length);
        return dst.array();
    }

    private List<Seen> gets() {
        return handler.requests().stream().filter(s -> s.method().equals("GET")).toList();
    }

    @Test
    void aStalledBodyIsClosedAndTheReadResumesFromTheMissingByte() throws Exception {
        HttpObjectStore stalling =
                new HttpObjectStore(
                        Duration.ofSeconds(5),
                        Duration.ofSeconds(10),
                        Duration.ofMillis(300),
                        Optional.empty());
        try {
            handler.stallNextBodies(1);
            ObjectVersion v = stalling.stat(uri);
            ByteBuffer dst = ByteBuffer.allocate(1000);

            RangeReads.readFully(
                    stalling, uri, v, 5000, 1000, dst, RetryPolicy.defaults(), sleeper);

            assertThat(dst.array()).isEqualTo(java.util.Arrays.copyOfRange(data, 5000, 6000));
            List<String> ranges =
                    handler.requests().stream()
                            .filter(s -> s.method().equals("GET"))
                            .map(Seen::range)
                            .toList();
            assertThat(ranges).containsExactly("bytes=5000-5999", "bytes=5500-5999");
        } finally {
            handler.releaseStalled();
            stalling.close();
        }
    }

    @Test
    void aTransientFailureOfTheVersionCheckIsRetried() throws Exception {
        String etag = handler.put("/models/model.safetensors", data);
        handler.headFailures.set(2);

        ObjectVersion v = RangeReads.stat(store, uri, RetryPolicy.defaults(), sleeper);

        assertThat(v).isEqualTo(new ObjectVersion(data.length, etag));
        assertThat(handler.requests())
                .extracting(Seen::method)
                .containsExactly("HEAD", "HEAD", "HEAD");
    }

    @Test
    void aNotFoundVersionCheckIsNotRetried() {
        assertThatThrownBy(
                        () ->
                                RangeReads.stat(
                                        store,
                                        server.uri("/missing.safetensors"),
                                        RetryPolicy.defaults(),
                                        sleeper))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("404");
        assertThat(handler.requests()).hasSize(1);
    }
}
