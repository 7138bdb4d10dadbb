package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.testing.S3Proxy;
import io.warmstage.testing.SharedData;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link FlinkFileSystemStore} for s3:// against a real S3-compatible server (S3Proxy). */
@ExtendWith(S3Proxy.class)
class FlinkFileSystemStoreTest {
    private static final Path REAL =
            SharedData.real()
                    .resolve("FluxML_SafeTensors.jl__test__non_sharded__model.safetensors");

    @Test
    void statAndRangedReadsOfARealFileEqualItsBytes() throws Exception {
        byte[] expected = Files.readAllBytes(REAL);
        URI uri = S3Proxy.uri("stat-and-read/model.safetensors");
        S3Proxy.put(uri, expected);

        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            ObjectStore store = stores.forUri(uri);
            ObjectVersion pinned = store.stat(uri);

            assertThat(store).isInstanceOf(FlinkFileSystemStore.class);
            assertThat(pinned.size()).isEqualTo(expected.length);
            assertThat(pinned.etag()).startsWith("etag:");
            assertThat(readInRanges(stores, uri, pinned, 1000)).isEqualTo(expected);
            assertThat(read(stores, uri, pinned, 0, 8))
                    .isEqualTo(Arrays.copyOfRange(expected, 0, 8));
            assertThat(read(stores, uri, pinned, expected.length - 3, 3))
                    .isEqualTo(Arrays.copyOfRange(expected, expected.length - 3, expected.length));
        }
    }

    @Test
    void missingObjectIsAFinal404NamingBucketAndKey() throws Exception {
        URI uri = S3Proxy.uri("no/such.safetensors");
        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            assertThatThrownBy(() -> stores.forUri(uri).stat(uri))
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isFalse())
                    .hasMessage(
                            "s3://models/no/such.safetensors (bucket 'models', key"
                                    + " 'no/such.safetensors'): stat: not found (404)");
        }
    }

    @Test
    void accessDeniedIsAFinal403AndNeverShowsASecret() throws Exception {
        URI uri = URI.create("s3://" + S3Proxy.LOCKED_BUCKET + "/model.safetensors");
        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            StorageException e = catchStorage(() -> stores.forUri(uri).stat(uri));

            assertThat(e.retryable()).isFalse();
            assertThat(e.getMessage())
                    .isEqualTo(
                            "s3://locked/model.safetensors (bucket 'locked', key"
                                    + " 'model.safetensors'): stat: access denied (403); check the"
                                    + " credentials and the bucket policy");
            for (Throwable t = e; t != null; t = t.getCause()) {
                assertThat(String.valueOf(t.getMessage()))
                        .doesNotContain(S3Proxy.LOCKED_SECRET)
                        .doesNotContain(S3Proxy.server().secretKey());
            }
        }
    }

    @Test
    void overwriteWithTheSameSizeBetweenStatAndReadIsObjectChanged() throws Exception {
        byte[] v1 = Files.readAllBytes(REAL);
        byte[] v2 = v1.clone();
        v2[v2.length - 1] ^= 0x5a;
        URI uri = S3Proxy.uri("overwritten/model.safetensors");
        S3Proxy.put(uri, v1);

        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            ObjectStore store = stores.forUri(uri);
            ObjectVersion pinned = store.stat(uri);
            S3Proxy.put(uri, v2);

            assertThatThrownBy(() -> store.openRange(uri, pinned, 0, 8))
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isFalse())
                    .hasMessageStartingWith(
                            "object changed: s3://models/overwritten/model.safetensors (bucket"
                                    + " 'models', key 'overwritten/model.safetensors') was pinned"
                                    + " at "
                                    + pinned);
            ObjectVersion now = store.stat(uri);
            assertThat(now.etag()).isNotEqualTo(pinned.etag());
            assertThat(readInRanges(stores, uri, now, 4096)).isEqualTo(v2);
        }
    }

    @Test
    void objectWithoutAnEtagIsPinnedBySizeAndModificationTime() throws Exception {
        byte[] expected = Files.readAllBytes(REAL);
        Path backend = S3Proxy.server().backendFile(S3Proxy.BUCKET, "copied/model.safetensors");
        Files.createDirectories(backend.getParent());
        Files.write(backend, expected);
        URI uri = S3Proxy.uri("copied/model.safetensors");

        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            ObjectVersion pinned = stores.forUri(uri).stat(uri);

            assertThat(pinned.size()).isEqualTo(expected.length);
            assertThat(pinned.etag()).startsWith("mtime:");
            assertThat(readInRanges(stores, uri, pinned, 777)).isEqualTo(expected);
        }
    }

    @Test
    void rangeOutsideThePinnedSizeIsRefusedBeforeAnyRequest() throws Exception {
        URI uri = S3Proxy.uri("never/read.safetensors");
        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            assertThatThrownBy(
                            () ->
                                    stores.forUri(uri)
                                            .openRange(uri, new ObjectVersion(10, null), 8, 3))
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isFalse())
                    .hasMessage(
                            "range [8, +3) is outside s3://models/never/read.safetensors (10"
                                    + " bytes)");
        }
    }

    @Test
    void closingARangeEarlyLeavesTheStoreUsable() throws Exception {
        byte[] expected = Files.readAllBytes(REAL);
        URI uri = S3Proxy.uri("early-close/model.safetensors");
        S3Proxy.put(uri, expected);

        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            ObjectStore store = stores.forUri(uri);
            ObjectVersion pinned = store.stat(uri);
            try (InputStream in = store.openRange(uri, pinned, 0, expected.length)) {
                assertThat(in.readNBytes(8)).isEqualTo(Arrays.copyOfRange(expected, 0, 8));
            }

            assertThat(readInRanges(stores, uri, pinned, expected.length)).isEqualTo(expected);
        }
    }

    private static byte[] readInRanges(ObjectStores stores, URI uri, ObjectVersion pinned, int size)
            throws Exception {
        ByteBuffer all = ByteBuffer.allocate((int) pinned.size());
        List<long[]> ranges = new ArrayList<>();
        for (long off = 0; off < pinned.size(); off += size) {
            ranges.add(new long[] {off, Math.min(size, pinned.size() - off)});
        }
        for (long[] r : ranges) {
            RangeReads.readFully(
                    stores.forUri(uri), uri, pinned, r[0], r[1], all, stores.retryPolicy());
        }
        return all.array();
    }

    private static byte[] read(ObjectStores stores, URI uri, ObjectVersion pinned, long off, int n)
            throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(n);
        RangeReads.readFully(stores.forUri(uri), uri, pinned, off, n, buf, stores.retryPolicy());
        return buf.array();
    }

    private static StorageException catchStorage(ThrowingCall call) {
        try {
            call.run();
        } catch (StorageException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected a StorageException, got " + e, e);
        }
        throw new AssertionError("expected a StorageException, nothing was thrown");
    }

    private interface ThrowingCall {
        void run() throws Exception;
    }
}
