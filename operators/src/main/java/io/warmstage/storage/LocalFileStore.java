package io.warmstage.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link ObjectStore} for {@code file:} URIs and scheme-less absolute paths.
 *
 * <p>The version token is the last-modified time in nanoseconds, as a decimal string. Ranged reads
 * are positioned {@link FileChannel} reads of the range only, never the whole file. Per DESIGN.md
 * storage rules, every {@link #openRange} checks size and last-modified time against the pinned
 * version first; a change is a non-retryable "object changed".
 */
public final class LocalFileStore implements ObjectStore {

    /** Creates a store; it holds no resources between reads. */
    public LocalFileStore() {}

    /**
     * Returns the file's size in bytes and its last-modified time in nanoseconds.
     *
     * @throws StorageException not retryable, naming the path, when the file is missing, is not a
     *     regular file or cannot be read
     */
    @Override
    public ObjectVersion stat(URI uri) throws IOException {
        Path path = toPath(uri);
        BasicFileAttributes attrs = attributes(path);
        if (!attrs.isRegularFile()) {
            throw new StorageException("not a regular file: " + path, false);
        }
        return versionOf(path, attrs);
    }

    /**
     * Opens bytes {@code [offset, offset + length)} of the file after checking it still matches
     * {@code pinned} (size and last-modified time).
     *
     * @throws StorageException not retryable for a missing file, a changed file ("object changed")
     *     or a range past the end; the stream throws a retryable one if the file ends early
     */
    @Override
    public InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException {
        Path path = toPath(uri);
        checkRange(path, pinned, offset, length);
        FileChannel channel = open(path);
        try {
            checkUnchanged(path, pinned, versionOf(path, attributes(path)));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new ExactRangeInputStream(
                new ChannelInputStream(channel, offset), uri, offset, length);
    }

    /**
     * Reads bytes {@code [offset, offset + dst.remaining())} with positional {@link FileChannel}
     * reads straight into {@code dst} (no heap copy for a direct buffer), after the same checks as
     * {@link #openRange}.
     *
     * @throws StorageException not retryable for a missing or changed file or a range past the end;
     *     retryable when the file ends early (then {@code dst}'s position is after the last byte
     *     read)
     */
    @Override
    public void readRange(URI uri, ObjectVersion pinned, long offset, ByteBuffer dst)
            throws IOException {
        Path path = toPath(uri);
        long length = dst.remaining();
        checkRange(path, pinned, offset, length);
        try (FileChannel channel = open(path)) {
            checkUnchanged(path, pinned, versionOf(path, attributes(path)));
            long position = offset;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position);
                if (n < 0) {
                    throw new StorageException(
                            String.format(
                                    "short read: got %d of %d bytes for range [%d, %d) of %s",
                                    position - offset,
                                    length,
                                    offset,
                                    Math.addExact(offset, length),
                                    path),
                            true);
                }
                position += n;
            }
        }
    }

    /** Nothing to release. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "LocalFileStore";
    }

    /**
     * The local path of {@code uri}: a {@code file:} URI without authority, or a scheme-less
     * absolute path.
     *
     * @throws StorageException not retryable for any other URI
     */
    static Path toPath(URI uri) throws StorageException {
        try {
            if (uri.getScheme() == null) {
                Path p = Path.of(uri.getPath());
                if (!p.isAbsolute()) {
                    throw new StorageException("not an absolute path: " + p, false);
                }
                return p;
            }
            if (!"file".equalsIgnoreCase(uri.getScheme())) {
                throw new StorageException("not a file URI: " + Redaction.uri(uri), false);
            }
            return Path.of(uri);
        } catch (IllegalArgumentException e) {
            throw new StorageException(
                    "not a local file URI: " + Redaction.uri(uri) + " (" + e.getMessage() + ")",
                    false,
                    e);
        }
    }

    private static BasicFileAttributes attributes(Path path) throws StorageException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new StorageException("file not found: " + path, false, e);
        } catch (AccessDeniedException e) {
            throw new StorageException("permission denied: " + path, false, e);
        } catch (IOException e) {
            throw new StorageException("cannot stat " + path + ": " + e, false, e);
        }
    }

    private static FileChannel open(Path path) throws StorageException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new StorageException("file not found: " + path, false, e);
        } catch (AccessDeniedException e) {
            throw new StorageException("permission denied: " + path, false, e);
        } catch (IOException e) {
            throw new StorageException("cannot open " + path + ": " + e, false, e);
        }
    }

    /**
     * Size and the token {@code <mtime ns>/<ctime ns>/<inode>}: a rewrite can set the modification
     * time back ({@code touch -d}), not the change time nor (for a new file) the inode. Where the
     * file system has no unix attributes, the modification time alone.
     */
    private static ObjectVersion versionOf(Path path, BasicFileAttributes attrs) {
        long nanos = attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS);
        String token = Long.toString(nanos);
        try {
            Map<String, Object> unix = Files.readAttributes(path, "unix:ctime,ino");
            if (unix.get("ctime") instanceof FileTime ctime
                    && unix.get("ino") instanceof Long ino) {
                token += "/" + ctime.to(TimeUnit.NANOSECONDS) + "/" + ino;
            }
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            // no unix view here: the modification time alone
        }
        return new ObjectVersion(attrs.size(), token);
    }

    private static void checkUnchanged(Path path, ObjectVersion pinned, ObjectVersion now)
            throws StorageException {
        boolean sameVersion = pinned.etag() == null || pinned.etag().equals(now.etag());
        if (pinned.size() != now.size() || !sameVersion) {
            throw new StorageException(
                    "object changed: " + path + " was pinned at " + pinned + ", now " + now, false);
        }
    }

    private static void checkRange(Path path, ObjectVersion pinned, long offset, long length)
            throws StorageException {
        if (offset < 0 || length < 1 || Math.addExact(offset, length) > pinned.size()) {
            throw new StorageException(
                    String.format(
                            "range [%d, +%d) is outside %s (%d bytes)",
                            offset, length, path, pinned.size()),
                    false);
        }
    }

    /** Positioned reads from a channel, starting at a byte offset; close closes the channel. */
    private static final class ChannelInputStream extends InputStream {
        private final FileChannel channel;
        private long position;

        ChannelInputStream(FileChannel channel, long position) {
            this.channel = channel;
            this.position = position;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = channel.read(ByteBuffer.wrap(b, off, len), position);
            if (n > 0) {
                position += n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
