package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.ObjectVersion;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A live writer's temp file survives another process's cleanup, even after a cleanup in the
 * writer's own process looked at it: that look must not drop the writer's lock (on Linux, closing
 * any descriptor of a file releases every POSIX lock the process holds on it).
 */
class LiveWriterProcessTest {
    @TempDir Path dir;

    @Test
    void aCleanupInTheWritersProcessKeepsItsTempFileLockedForOthers() throws Exception {
        LocalCache cache = new LocalCache(dir);
        PendingEntry e =
                cache.begin(
                        URI.create("https://h.example/a.safetensors"),
                        new ObjectVersion(4, "\"v\""));
        e.write(0, ByteBuffer.wrap(new byte[] {1, 2}));
        Path temp = e.tempFile();
        // Older than the grace period for temp files just created. Set by another process:
        // Files.setLastModifiedTime opens and closes the file here, which drops the lock itself.
        assertThat(
                        new ProcessBuilder("touch", "-d", "10 minutes ago", temp.toString())
                                .start()
                                .waitFor())
                .isZero();

        assertThat(new CacheDirectory(dir).deleteDeadTemps()).as("this process").isZero();
        assertThat(cleanupInAnotherProcess()).as("another process").isEqualTo("0");
        assertThat(temp).exists();

        e.write(2, ByteBuffer.wrap(new byte[] {3, 4}));
        e.abort();
        assertThat(temp).doesNotExist();
    }

    private String cleanupInAnotherProcess() throws Exception {
        return io.warmstage.testing.JavaProcess.firstLine(DeadTempsCheck.class, dir.toString());
    }
}
