package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One cache writer per host and file holds between processes of one host (two TaskManagers on one
 * machine): claims are taken by real separate JVMs sharing one cache directory.
 */
class CacheClaimsProcessTest {
    static final FileId FILE =
            new FileId(
                    "http://origin/model-00001.safetensors", new ObjectVersion(4096, "\"etag-1\""));

    /** Another version of {@link #FILE}: another file to claim. */
    static final FileId FILE_V2 = new FileId(FILE.uri(), new ObjectVersion(4096, "\"etag-2\""));

    @TempDir Path cacheDir;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killAll() {
        started.forEach(Process::destroyForcibly);
    }

    @Test
    void twoProcessesOfOneHostGetOneWriter() throws Exception {
        Process first = start();
        assertThat(firstLine(first)).isEqualTo("claimed=true");
        Process second = start();
        assertThat(firstLine(second))
                .as("the second process of the host")
                .isEqualTo("claimed=false");
        try (var locks = Files.list(cacheDir.resolve(CacheClaims.CLAIMS_DIR))) {
            assertThat(locks).as("one lock file per file").hasSize(1);
        }
    }

    @Test
    void aReleasedClaimCanBeTakenAgain() throws Exception {
        Process first = start();
        assertThat(firstLine(first)).isEqualTo("claimed=true");
        try (Writer w = stdin(first)) {
            w.write("release\n");
        }
        assertThat(nextLine(first)).isEqualTo("released");
        Process second = start();
        assertThat(firstLine(second)).isEqualTo("claimed=true");
    }

    @Test
    void theClaimOfAKilledProcessIsFreedByTheOperatingSystem() throws Exception {
        Process first = start();
        assertThat(firstLine(first)).isEqualTo("claimed=true");
        first.destroyForcibly(); // SIGKILL: no release, no shutdown hook
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Process second = start();
        assertThat(firstLine(second)).isEqualTo("claimed=true");
    }

    @Test
    void slotsOfOneProcessStillGetOneWriterAndOtherFilesAreFree() throws Exception {
        Object a = new Object();
        Object b = new Object();
        String dir = cacheDir.toString();
        try {
            assertThat(CacheClaims.claim(dir, FILE, a)).isTrue();
            assertThat(CacheClaims.claim(dir, FILE, a)).as("asked again").isTrue();
            assertThat(CacheClaims.claim(dir, FILE, b)).isFalse();
            assertThat(CacheClaims.claim(dir, FILE_V2, b)).as("another file").isTrue();
            Process other = start();
            assertThat(firstLine(other)).isEqualTo("claimed=false");
            CacheClaims.releaseAll(a);
            assertThat(CacheClaims.claim(dir, FILE, b)).isTrue();
        } finally {
            CacheClaims.releaseAll(a);
            CacheClaims.releaseAll(b);
        }
    }

    private Process start() throws Exception {
        Process p =
                io.warmstage.testing.JavaProcess.start(
                        ClaimingProcess.class,
                        cacheDir.toString(),
                        FILE.uri(),
                        Long.toString(FILE.size()),
                        FILE.version().etag());
        started.add(p);
        return p;
    }

    private final java.util.Map<Process, BufferedReader> readers = new java.util.HashMap<>();

    private String firstLine(Process p) throws Exception {
        return nextLine(p);
    }

    /** The process's next line of output, waiting at most 60 s. */
    private String nextLine(Process p) throws Exception {
        BufferedReader r =
                readers.computeIfAbsent(
                        p,
                        k ->
                                new BufferedReader(
                                        new InputStreamReader(
                                                k.getInputStream(), StandardCharsets.UTF_8)));
        return CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return r.readLine();
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                        })
                .get(60, TimeUnit.SECONDS);
    }

    private static Writer stdin(Process p) {
        return new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
    }
}
