package io.warmstage.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * {@link ObjectStore} for {@code s3://} and {@code gs://} through Flink's {@link FileSystem} and
 * its plugins ({@code flink-s3-fs-hadoop}, {@code flink-gs-fs-hadoop}), made available by {@link
 * FlinkFileSystems#ensureScheme}. Credentials, endpoint and region are the plugin's keys ({@code
 * s3.access-key}, {@code s3.endpoint}, ...) and never pass through this class.
 *
 * <p>Versions are pinned by size and ETag where the file system exposes it, else by size and
 * modification time ({@link FileStatusVersions}). Every {@link #openRange} opens its own stream
 * (one stream per range, DESIGN.md), then checks the object's status against the pinned version (a
 * change is a non-retryable "object changed"), then seeks: S3A pins the stream itself to the ETag
 * it saw when opening, so a range never splices two versions. Closing before the end is the
 * plugin's close: S3A aborts the GET when more than its readahead range is left.
 */
public final class FlinkFileSystemStore implements ObjectStore {
    private final String scheme;

    /** A store for {@code scheme}; the caller has made the scheme available. */
    FlinkFileSystemStore(String scheme) {
        this.scheme = scheme;
    }

    /**
     * Returns the object's size in bytes and version token.
     *
     * @throws StorageException not retryable for 403/404/301 and a directory (a key prefix), naming
     *     bucket, key and status; retryable for other faults
     */
    @Override
    public ObjectVersion stat(URI uri) throws IOException {
        return FileStatusVersions.of(status(fileSystem(uri), uri, "stat"));
    }

    /**
     * Opens bytes {@code [offset, offset + length)} on a new stream after checking the object still
     * matches {@code pinned}.
     *
     * @throws StorageException not retryable for a range outside {@code pinned}, 403/404, or a
     *     changed object ("object changed"); the stream throws a retryable one on a short read
     */
    @Override
    public InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException {
        checkRange(uri, pinned, offset, length);
        FileSystem fs = fileSystem(uri);
        FSDataInputStream in = open(fs, uri);
        try {
            checkUnchanged(uri, pinned, FileStatusVersions.of(status(fs, uri, "stat")));
            in.seek(offset);
        } catch (IOException e) {
            closeQuietly(in, e);
            throw FlinkFsErrors.map(uri, "seek", e);
        } catch (RuntimeException e) {
            closeQuietly(in, e);
            throw e;
        }
        return new ExactRangeInputStream(new FinalErrors(in, uri), uri, offset, length);
    }

    /** Nothing to release: Flink caches file systems per scheme and bucket for the JVM. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "FlinkFileSystemStore(" + scheme + "://)";
    }

    private static FileSystem fileSystem(URI uri) throws StorageException {
        try {
            return FileSystem.get(uri);
        } catch (IOException e) {
            throw FlinkFsErrors.map(uri, FlinkFsErrors.FILE_SYSTEM, e);
        }
    }

    private static FileStatus status(FileSystem fs, URI uri, String operation)
            throws StorageException {
        FileStatus status;
        try {
            status = fs.getFileStatus(new Path(uri));
        } catch (IOException e) {
            throw FlinkFsErrors.map(uri, operation, e);
        }
        if (status.isDir()) {
            throw new StorageException(
                    FlinkFsErrors.where(uri) + ": not an object but a key prefix (directory)",
                    false);
        }
        return status;
    }

    private static FSDataInputStream open(FileSystem fs, URI uri) throws StorageException {
        try {
            return fs.open(new Path(uri));
        } catch (IOException e) {
            throw FlinkFsErrors.map(uri, "open", e);
        }
    }

    private static void checkUnchanged(URI uri, ObjectVersion pinned, ObjectVersion now)
            throws StorageException {
        boolean sameVersion = pinned.etag() == null || pinned.etag().equals(now.etag());
        if (pinned.size() != now.size() || !sameVersion) {
            throw new StorageException(
                    "object changed: "
                            + FlinkFsErrors.where(uri)
                            + " was pinned at "
                            + pinned
                            + ", now "
                            + now,
                    false);
        }
    }

    private static void checkRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws StorageException {
        if (offset < 0 || length < 1 || Math.addExact(offset, length) > pinned.size()) {
            throw new StorageException(
                    String.format(
                            "range [%d, +%d) is outside %s (%d bytes)",
                            offset, length, Redaction.uri(uri), pinned.size()),
                    false);
        }
    }

    private static void closeQuietly(InputStream in, Exception primary) {
        try {
            in.close();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }

    /**
     * Turns final faults during a read (403, object changed) into non-retryable {@link
     * StorageException}s; other I/O errors pass through, and {@link ExactRangeInputStream} reports
     * them as retryable short reads.
     */
    private static final class FinalErrors extends FilterInputStream {
        private final URI uri;

        FinalErrors(InputStream in, URI uri) {
            super(in);
            this.uri = uri;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw finalOrSame(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw finalOrSame(e);
            }
        }

        private IOException finalOrSame(IOException e) {
            StorageException mapped = FlinkFsErrors.map(uri, "read", e);
            return mapped.retryable() ? e : mapped;
        }
    }
}
