package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.testing.SharedData;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link LocalFileStore} over the real safetensors files in shared/data/real. */
class LocalFileStoreTest {
    private final LocalFileStore store = new LocalFileStore();

    @TempDir Path tmp;

    @Test
    void statGivesSizeModificationAndChangeTimeAndInode() throws Exception {
        Path file = SharedData.validFiles().get(0);

        ObjectVersion v = store.stat(file.toUri());

        assertThat(v.size()).isEqualTo(Files.size(file));
        String mtime = Long.toString(Files.getLastModifiedTime(file).to(TimeUnit.NANOSECONDS));
        Object ctime = Files.getAttribute(file, "unix:ctime");
        Object inode = Files.getAttribute(file, "unix:ino");
        assertThat(v.etag())
                .isEqualTo(
                        mtime
                                + "/"
                                + ((java.nio.file.attribute.FileTime) ctime)
                                        .to(TimeUnit.NANOSECONDS)
                                + "/"
                                + inode);
        assertThat(v.hasToken(mtime)).as("a pin by modification time alone").isTrue();
    }

    @Test
    void rangesOfRealFilesEqualTheirBytes() throws Exception {
        assertThat(SharedData.validFiles()).isNotEmpty();
        for (Path file : SharedData.validFiles()) {
            byte[] all = Files.readAllBytes(file);
            ObjectVersion v = store.stat(file.toUri());
            long[][] ranges = {
                {0, 8},
                {8, all.length - 8},
                {all.length / 3, all.length / 4 + 1},
                {all.length - 1, 1}
            };
            for (long[] r : ranges) {
                byte[] got = readRange(file.toUri(), v, r[0], r[1]);
                assertThat(got)
                        .as("%s [%d, +%d)", file.getFileName(), r[0], r[1])
                        .isEqualTo(Arrays.copyOfRange(all, (int) r[0], (int) (r[0] + r[1])));
            }
        }
    }

    @Test
    void readRangeFillsADirectBufferWithTheFilesBytes() throws Exception {
        for (Path file : SharedData.validFiles()) {
            byte[] all = Files.readAllBytes(file);
            ObjectVersion v = store.stat(file.toUri());
            int from = all.length / 5;
            ByteBuffer dst = ByteBuffer.allocateDirect(all.length);
            dst.position(3).limit(3 + all.length - from);

            store.readRange(file.toUri(), v, from, dst);

            assertThat(dst.position()).isEqualTo(dst.limit());
            byte[] got = new byte[all.length - from];
            dst.position(3);
            dst.get(got);
            assertThat(got)
                    .as("%s from %d", file.getFileName(), from)
                    .isEqualTo(Arrays.copyOfRange(all, from, all.length));
        }
    }

    @Test
    void readRangeKeepsTheVersionAndRangeChecks() throws Exception {
        Path file = copyOfARealFile();
        ObjectVersion v = store.stat(file.toUri());
        ByteBuffer past = ByteBuffer.allocateDirect(8);

        assertThatThrownBy(() -> store.readRange(file.toUri(), v, v.size() - 4, past))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("outside");
        Files.setLastModifiedTime(
                file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 5_000));
        assertThatThrownBy(() -> store.readRange(file.toUri(), v, 0, ByteBuffer.allocate(8)))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("object changed")
                .hasMessageContaining(file.toString());
    }

    @Test
    void schemeLessAbsolutePathWorksThroughRangeReads() throws Exception {
        Path file = SharedData.validFiles().get(0);
        byte[] all = Files.readAllBytes(file);
        URI plain = URI.create(file.toAbsolutePath().toString());
        ObjectVersion v = store.stat(plain);
        ByteBuffer dst = ByteBuffer.allocateDirect(all.length);

        RangeReads.readFully(store, plain, v, 0, all.length, dst, RetryPolicy.defaults());

        byte[] got = new byte[all.length];
        dst.flip().get(got);
        assertThat(got).isEqualTo(all);
    }

    @Test
    void modifiedFileIsObjectChanged() throws Exception {
        Path file = copyOfARealFile();
        ObjectVersion v = store.stat(file.toUri());
        FileTime later = FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 5_000);
        Files.setLastModifiedTime(file, later);

        assertThatThrownBy(() -> store.openRange(file.toUri(), v, 0, 8))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("object changed")
                .hasMessageContaining(file.toString());
    }

    @Test
    void resizedFileIsObjectChanged() throws Exception {
        Path file = copyOfARealFile();
        ObjectVersion v = store.stat(file.toUri());
        FileTime mtime = Files.getLastModifiedTime(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(raf.length() - 1);
        }
        Files.setLastModifiedTime(file, mtime);

        assertThatThrownBy(() -> store.openRange(file.toUri(), v, 0, 8))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("object changed");
    }

    @Test
    void fileTruncatedAfterOpenIsARetryableShortRead() throws Exception {
        Path file = copyOfARealFile();
        long size = Files.size(file);
        ObjectVersion v = store.stat(file.toUri());

        try (InputStream in = store.openRange(file.toUri(), v, 0, size)) {
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(size / 2);
            }
            assertThatThrownBy(in::readAllBytes)
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isTrue())
                    .hasMessageContaining(
                            "short read: got "
                                    + size / 2
                                    + " of "
                                    + size
                                    + " bytes for range [0, "
                                    + size
                                    + ")");
        }
    }

    @Test
    void truncatedFileBecomesObjectChangedOnRetry() throws Exception {
        Path file = copyOfARealFile();
        ObjectVersion v = store.stat(file.toUri());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(4);
        }

        assertThatThrownBy(
                        () ->
                                RangeReads.readFully(
                                        store,
                                        file.toUri(),
                                        v,
                                        0,
                                        8,
                                        ByteBuffer.allocate(8),
                                        RetryPolicy.defaults(),
                                        new RecordingSleeper()))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("object changed");
    }

    @Test
    void missingFileIsNotRetryableAndNamesThePath() {
        Path missing = tmp.resolve("no-such-model.safetensors");

        assertThatThrownBy(() -> store.stat(missing.toUri()))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> store.openRange(missing.toUri(), new ObjectVersion(10, "1"), 0, 8))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining(missing.toString());
    }

    @Test
    void rangePastTheEndIsRefused() throws Exception {
        Path file = SharedData.validFiles().get(0);
        ObjectVersion v = store.stat(file.toUri());

        assertThatThrownBy(() -> store.openRange(file.toUri(), v, v.size() - 4, 8))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("outside");
    }

    private byte[] readRange(URI uri, ObjectVersion v, long offset, long length) throws Exception {
        try (InputStream in = store.openRange(uri, v, offset, length)) {
            byte[] got = in.readAllBytes();
            assertThat(in.read()).isEqualTo(-1);
            return got;
        }
    }

    private Path copyOfARealFile() throws Exception {
        Path source = SharedData.validFiles().get(0);
        Path copy = tmp.resolve(source.getFileName());
        Files.copy(source, copy);
        return copy;
    }
}
