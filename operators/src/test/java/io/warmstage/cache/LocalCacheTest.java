package io.warmstage.cache;

import static io.warmstage.cache.CacheFixtures.crc32c;
import static io.warmstage.cache.CacheFixtures.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.storage.ObjectVersion;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalCacheTest {
    private static final URI URI_A = URI.create("s3://bucket/models/a/model.safetensors");

    @TempDir Path dir;
    private LocalCache cache;
    private Path origin;
    private byte[] bytes;
    private URI uri;
    private ObjectVersion version;

    @BeforeEach
    void setUp() throws Exception {
        cache = new LocalCache(dir);
        origin = CacheFixtures.largestRealFile();
        bytes = Files.readAllBytes(origin);
        uri = origin.toUri();
        version = new ObjectVersion(bytes.length, "\"etag-1\"");
    }

    @Test
    void keyIsAHashOfUriSizeAndEtag() {
        String k = LocalCache.key(URI_A, new ObjectVersion(10, "e"));

        assertThat(k).matches("[0-9a-f]{64}");
        assertThat(LocalCache.key(URI_A, new ObjectVersion(10, "e"))).isEqualTo(k);
        assertThat(LocalCache.key(URI_A, new ObjectVersion(11, "e"))).isNotEqualTo(k);
        assertThat(LocalCache.key(URI_A, new ObjectVersion(10, "f"))).isNotEqualTo(k);
        assertThat(LocalCache.key(URI_A, new ObjectVersion(10, null))).isNotEqualTo(k);
        assertThat(LocalCache.key(URI_A, new ObjectVersion(10, null)))
                .isNotEqualTo(LocalCache.key(URI_A, new ObjectVersion(10, "none")));
        assertThat(
                        LocalCache.key(
                                URI.create("s3://bucket/models/b/model.safetensors"),
                                new ObjectVersion(10, "e")))
                .isNotEqualTo(k);
    }

    @Test
    void publishesARealFileWrittenInShuffledRangesFromSeveralThreads() throws Exception {
        PendingEntry entry = cache.begin(uri, version);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> writes =
                    CacheFixtures.shuffledRanges(bytes.length, 64 << 10, 1).stream()
                            .<Future<?>>map(
                                    r ->
                                            pool.submit(
                                                    () -> {
                                                        entry.write(
                                                                r[0],
                                                                ByteBuffer.wrap(
                                                                        bytes,
                                                                        (int) r[0],
                                                                        (int) (r[1] - r[0])));
                                                        return null;
                                                    }))
                            .toList();
            for (Future<?> w : writes) {
                w.get();
            }
        } finally {
            pool.shutdown();
        }

        CacheEntry published = entry.commit(OptionalInt.of(crc32c(bytes)));

        Path data = cache.lookup(uri, version).orElseThrow();
        assertThat(data).isEqualTo(entry.dataFile());
        assertThat(Files.mismatch(data, origin)).isEqualTo(-1);
        assertThat(data.getFileName().toString())
                .isEqualTo(LocalCache.key(uri, version) + ".safetensors");
        CacheEntry sidecar = cache.entry(uri, version).orElseThrow();
        assertThat(sidecar).isEqualTo(published);
        assertThat(sidecar.uri()).isEqualTo(uri.toString());
        assertThat(sidecar.size()).isEqualTo(bytes.length);
        assertThat(sidecar.etag()).isEqualTo("\"etag-1\"");
        assertThat(sidecar.crc32c()).isEqualTo(Integer.toUnsignedLong(crc32c(bytes)));
        assertThat(sidecar.createdAt()).isNotBlank();
        assertThat(list(dir.resolve(".tmp"))).isEmpty();
        assertThatThrownBy(() -> entry.write(0, ByteBuffer.wrap(bytes, 0, 1)))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void lookupMissesAndCleansWhenTheSidecarNamesAnotherSizeOrEtag() throws Exception {
        for (String field : new String[] {"size", "etag"}) {
            publish();
            Path sidecar = sidecarOf(uri, version);
            CacheEntry e = LocalCache.JSON.readValue(sidecar.toFile(), CacheEntry.class);
            CacheEntry other =
                    field.equals("size")
                            ? new CacheEntry(
                                    e.uri(),
                                    e.size() + 1,
                                    e.etag(),
                                    e.crc32c(),
                                    null,
                                    e.createdAt())
                            : new CacheEntry(
                                    e.uri(),
                                    e.size(),
                                    "\"other\"",
                                    e.crc32c(),
                                    null,
                                    e.createdAt());
            LocalCache.JSON.writeValue(sidecar.toFile(), other);

            assertThat(cache.lookup(uri, version)).as(field).isEmpty();
            assertThat(list(dir)).as(field).containsExactly(".tmp");
        }
    }

    @Test
    void lookupMissesAndCleansWhenTheDataIsTruncated() throws Exception {
        Path data = publish();
        try (var c = Files.newByteChannel(data, StandardOpenOption.WRITE)) {
            c.truncate(bytes.length - 1);
        }

        assertThat(cache.lookup(uri, version)).isEmpty();
        assertThat(list(dir)).containsExactly(".tmp");
    }

    @Test
    void lookupMissesAndCleansWhenTheSidecarIsGarbageOrMissing() throws Exception {
        publish();
        Files.writeString(sidecarOf(uri, version), "{\"uri\": [not json", StandardCharsets.UTF_8);
        assertThat(cache.lookup(uri, version)).isEmpty();
        assertThat(list(dir)).containsExactly(".tmp");

        Path data = publish();
        Files.delete(sidecarOf(uri, version));
        assertThat(cache.lookup(uri, version)).isEmpty();
        assertThat(data).doesNotExist();
    }

    @Test
    void findMissesAndCleansWhenTheSidecarsTensorChecksumsAreNotChecksums() throws Exception {
        for (String bad : new String[] {"[null]", "[-1]", "[4294967296]"}) {
            Path data = publish();
            Path sidecar = sidecarOf(uri, version);
            String json = Files.readString(sidecar, StandardCharsets.UTF_8);
            Files.writeString(
                    sidecar,
                    json.replaceAll("\"tensorCrc32c\":\\[[^\\]]*\\]", "\"tensorCrc32c\":" + bad),
                    StandardCharsets.UTF_8);

            assertThat(cache.find(uri, version)).as(bad).isEmpty();
            assertThat(data).as(bad).doesNotExist();
            assertThat(sidecar).as(bad).doesNotExist();
        }
    }

    @Test
    void lookupOfAnUnknownEntryMissesAndLeavesWritersAlone() throws Exception {
        PendingEntry inProgress = cache.begin(uri, version);
        inProgress.write(0, ByteBuffer.wrap(bytes, 0, 100));

        assertThat(cache.lookup(uri, version)).isEmpty();

        assertThat(list(dir.resolve(".tmp"))).hasSize(1);
        inProgress.abort();
    }

    @Test
    void commitWithMissingRangesFailsAndPublishesNothing() throws Exception {
        PendingEntry entry = cache.begin(uri, version);
        entry.write(0, ByteBuffer.wrap(bytes, 0, 1000));
        entry.write(2000, ByteBuffer.wrap(bytes, 2000, bytes.length - 2000));

        assertThatThrownBy(entry::commit)
                .hasMessageContaining(uri.toString())
                .hasMessageContaining("bytes [1000, 2000) of " + bytes.length + " never written");
        assertNothingPublished();
    }

    @Test
    void commitWithAWrongChecksumFailsAndPublishesNothing() throws Exception {
        PendingEntry entry = writeAll();

        assertThatThrownBy(() -> entry.commit(OptionalInt.of(crc32c(bytes) + 1)))
                .hasMessageContaining(uri.toString())
                .hasMessageContaining("CRC-32C");
        assertNothingPublished();
    }

    @Test
    void writesOutsideTheObjectAreRejected() throws Exception {
        PendingEntry entry = cache.begin(uri, version);

        assertThatThrownBy(() -> entry.write(bytes.length - 1, ByteBuffer.allocate(2)))
                .isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining(uri.toString());
        assertThatThrownBy(() -> entry.write(-1, ByteBuffer.allocate(1)))
                .isInstanceOf(IndexOutOfBoundsException.class);
        entry.abort();
    }

    @Test
    void abortLeavesNothing() throws Exception {
        PendingEntry entry = writeAll();

        entry.abort();
        entry.abort();

        assertNothingPublished();
        assertThat(cache.lookup(uri, version)).isEmpty();
    }

    @Test
    void aFailureDuringCommitDeletesTheTempFileAndPublishesNothing() throws Exception {
        // No tmpfs to fill without root tricks here: make the temp file vanish under the writer
        // instead, so reading it back and renaming it fail as a full or broken disk would.
        PendingEntry entry = writeAll();
        Files.delete(entry.tempFile());
        Files.delete(dir.resolve(".tmp"));

        assertThatThrownBy(entry::commit)
                .hasMessageStartingWith("cache entry for " + uri + " not published: ")
                .hasCauseInstanceOf(java.nio.file.NoSuchFileException.class);
        assertThat(list(dir)).isEmpty();
        assertThat(cache.lookup(uri, version)).isEmpty();
    }

    @Test
    void twoWritersOfTheSameEntryBothCommitAndTheEntryIsValid() throws Exception {
        PendingEntry first = cache.begin(uri, version);
        PendingEntry second = cache.begin(uri, version);
        for (long[] r : CacheFixtures.shuffledRanges(bytes.length, 32 << 10, 2)) {
            first.write(r[0], ByteBuffer.wrap(bytes, (int) r[0], (int) (r[1] - r[0])));
            second.write(r[0], ByteBuffer.wrap(bytes, (int) r[0], (int) (r[1] - r[0])));
        }

        first.commit();
        second.commit();

        Path data = cache.lookup(uri, version).orElseThrow();
        assertThat(Files.mismatch(data, origin)).isEqualTo(-1);
        assertThat(list(dir)).hasSize(3); // data, sidecar, .tmp
        assertThat(list(dir.resolve(".tmp"))).isEmpty();
    }

    @Test
    void anEmptyObjectIsPublishedWithoutWrites() throws Exception {
        ObjectVersion empty = new ObjectVersion(0, "\"e\"");
        cache.begin(URI_A, empty).commit();

        Path data = cache.lookup(URI_A, empty).orElseThrow();
        assertThat(Files.size(data)).isZero();
        assertThat(cache.entry(URI_A, empty).orElseThrow().crc32c()).isZero();
    }

    private Path publish() throws Exception {
        writeAll().commit();
        return cache.lookup(uri, version).orElseThrow();
    }

    private PendingEntry writeAll() throws Exception {
        PendingEntry entry = cache.begin(uri, version);
        entry.write(0, ByteBuffer.wrap(bytes));
        return entry;
    }

    private Path sidecarOf(URI u, ObjectVersion v) {
        return dir.resolve(LocalCache.key(u, v) + ".entry.json");
    }

    private void assertNothingPublished() {
        assertThat(list(dir)).containsExactly(".tmp");
        assertThat(list(dir.resolve(".tmp"))).isEmpty();
    }

    @Test
    void lookupsRacingACommitNeverDestroyTheEntryItPublishes() throws Exception {
        LocalCache cache = new LocalCache(dir.resolve("race"));
        byte[] bytes = new byte[4096];
        new java.util.Random(5).nextBytes(bytes);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            for (int round = 0; round < 200; round++) {
                URI uri = URI.create("http://origin/model-" + round + ".safetensors");
                ObjectVersion v = new ObjectVersion(bytes.length, "\"e" + round + "\"");
                PendingEntry entry = cache.begin(uri, v);
                entry.write(0, java.nio.ByteBuffer.wrap(bytes));
                java.util.concurrent.atomic.AtomicBoolean done =
                        new java.util.concurrent.atomic.AtomicBoolean();
                Future<?> spinner =
                        pool.submit(
                                () -> {
                                    while (!done.get()) {
                                        cache.lookup(uri, v);
                                    }
                                    return null;
                                });
                entry.commit();
                done.set(true);
                spinner.get();
                assertThat(cache.lookup(uri, v)).as("round %d", round).isPresent();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDataFileWhoseBytesChangedAtTheSameSizeIsNotTrustedAndIsRemoved() throws Exception {
        Path data = publish();
        try (java.nio.channels.FileChannel c =
                java.nio.channels.FileChannel.open(data, java.nio.file.StandardOpenOption.WRITE)) {
            c.write(
                    java.nio.ByteBuffer.wrap(new byte[] {(byte) ~bytes[bytes.length - 1]}),
                    bytes.length - 1);
        }
        java.nio.file.Files.setLastModifiedTime(
                data,
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertThat(Files.size(data)).isEqualTo(bytes.length);

        assertThat(cache.lookup(uri, version)).isEmpty();
        assertThat(data).doesNotExist();
    }
}
