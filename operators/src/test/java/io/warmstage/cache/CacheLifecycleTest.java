package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.ObjectVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cache that keeps to its size: LRU eviction, superseded versions, dead writers, corruption. */
class CacheLifecycleTest {
    @TempDir Path dir;

    private static final byte[] BYTES = new byte[1000];

    private static URI uri(String name) {
        return URI.create("https://h.example/" + name + ".safetensors");
    }

    private static ObjectVersion v(String etag) {
        return new ObjectVersion(BYTES.length, "\"" + etag + "\"");
    }

    private static void publish(LocalCache cache, URI uri, ObjectVersion v) throws Exception {
        PendingEntry e = cache.begin(uri, v);
        e.write(0, ByteBuffer.wrap(BYTES));
        e.commit();
    }

    /** Sets an entry's last use to {@code secondsAgo} seconds ago. */
    private void lastUse(URI uri, ObjectVersion v, long secondsAgo) throws Exception {
        Path sidecar = dir.resolve(LocalCache.key(uri, v) + LocalCache.SIDECAR_SUFFIX);
        Files.setLastModifiedTime(sidecar, FileTime.from(Instant.now().minusSeconds(secondsAgo)));
    }

    @Test
    void aPublishOverTheCapEvictsTheLeastRecentlyUsedEntriesNotInUse() throws Exception {
        LocalCache cache = new LocalCache(dir, 2_500, Duration.ofMinutes(10));
        publish(cache, uri("a"), v("a"));
        publish(cache, uri("b"), v("b"));
        lastUse(uri("a"), v("a"), 3600);
        lastUse(uri("b"), v("b"), 7200); // b: least recently used
        assertThat(cache.lookup(uri("a"), v("a"))).isPresent(); // a used now: in use

        lastUse(uri("b"), v("b"), 7200);
        publish(cache, uri("c"), v("c"));

        assertThat(new CacheDirectory(dir).entries())
                .extracting(CacheDirectory.Entry::uri)
                .containsExactlyInAnyOrder(uri("a").toString(), uri("c").toString());
        assertThat(new CacheDirectory(dir).bytes()).isEqualTo(2_000);

        // a is in use (found a moment ago): kept even though the cap is exceeded
        publish(cache, uri("d"), v("d"));
        assertThat(new CacheDirectory(dir).entries())
                .extracting(CacheDirectory.Entry::uri)
                .contains(uri("a").toString(), uri("d").toString());
    }

    @Test
    void aNewVersionRetiresTheOldOneOfTheSameUriOnly() throws Exception {
        LocalCache cache = new LocalCache(dir);
        publish(cache, uri("a"), v("1"));
        publish(cache, uri("b"), v("1"));
        publish(cache, uri("a"), v("2"));

        assertThat(cache.lookup(uri("a"), v("1"))).isEmpty();
        assertThat(cache.lookup(uri("a"), v("2"))).isPresent();
        assertThat(cache.lookup(uri("b"), v("1"))).isPresent();
        assertThat(new CacheDirectory(dir).entries()).hasSize(2);
        assertThat(Files.exists(dir.resolve(LocalCache.key(uri("a"), v("1")) + ".safetensors")))
                .isFalse();
    }

    @Test
    void tempFilesOfDeadWritersGoThoseOfLiveWritersStayWhateverTheirAgeAndNewOnesStay()
            throws Exception {
        new LocalCache(dir);
        Path dead = Files.write(dir.resolve(".tmp/dead.1.part"), new byte[10]);
        Files.setLastModifiedTime(dead, FileTime.from(Instant.now().minusSeconds(120)));
        // a writer of another process between creating its temp file and locking it
        Path creating = Files.write(dir.resolve(".tmp/creating.3.part"), new byte[10]);
        Path otherProcess = Files.write(dir.resolve(".tmp/other.2.part"), new byte[10]);
        Files.setLastModifiedTime(otherProcess, FileTime.from(Instant.now().minusSeconds(86400)));
        Process holder =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                LockHolder.class.getName(),
                                otherProcess.toString())
                        .redirectErrorStream(true)
                        .start();
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(r.readLine()).isEqualTo("locked");
            PendingEntry thisProcess = new LocalCache(dir).begin(uri("a"), v("a"));

            new LocalCache(dir); // another cache opens the directory

            assertThat(dead).doesNotExist();
            assertThat(creating).exists();
            assertThat(otherProcess).exists();
            assertThat(thisProcess.tempFile()).exists();
            thisProcess.abort();
        } finally {
            holder.getOutputStream().close();
            holder.waitFor();
        }
        new LocalCache(dir);
        assertThat(otherProcess).doesNotExist(); // its writer is gone now
    }

    @Test
    void aCorruptCopyIsWarnedAndNotedOnceNamingTheFile() throws Exception {
        LocalCache cache = new LocalCache(dir);
        publish(cache, uri("a"), v("a"));
        Path data = cache.lookup(uri("a"), v("a")).orElseThrow();
        FileTime mtime = Files.getLastModifiedTime(data);
        byte[] bad = BYTES.clone();
        bad[500] = 1;
        Files.write(data, bad);
        Files.setLastModifiedTime(data, FileTime.from(mtime.toInstant().plusSeconds(1)));

        assertThat(cache.lookup(uri("a"), v("a"))).isEmpty();
        assertThat(cache.takeCorruptNote(uri("a"), v("a")))
                .hasValueSatisfying(
                        why ->
                                assertThat(why)
                                        .contains(data.toString())
                                        .contains(uri("a").toString())
                                        .contains("corrupt"));
        assertThat(cache.takeCorruptNote(uri("a"), v("a"))).isEmpty();
        assertThat(data).doesNotExist();
    }

    @Test
    void verifyFindsACorruptEntryAndPruneEmptiesToTheCap() throws Exception {
        LocalCache cache = new LocalCache(dir);
        publish(cache, uri("a"), v("a"));
        publish(cache, uri("b"), v("b"));
        CacheDirectory d = new CacheDirectory(dir);
        List<CacheDirectory.Entry> entries = d.entries();
        assertThat(entries).allSatisfy(e -> assertThat(CacheDirectory.verify(e)).isNull());
        byte[] bad = BYTES.clone();
        bad[0] = 7;
        Files.write(entries.get(0).data(), bad);
        assertThat(CacheDirectory.verify(d.entries().get(0))).contains("CRC-32C");

        lastUse(uri("a"), v("a"), 100);
        assertThat(d.evictToFit(1_000, Duration.ZERO, null))
                .extracting(CacheDirectory.Entry::uri)
                .containsExactly(uri("a").toString());
        assertThat(d.bytes()).isEqualTo(1_000);
    }
}
