package io.warmstage.cache;

import io.warmstage.memory.Crc32c;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.OptionalInt;

/**
 * A cache entry being written: a private temp file taking positional writes, published by {@link
 * #commit} or dropped by {@link #abort}. Writes of distinct ranges may run on several threads;
 * commit and abort run once, after the writes.
 */
public final class PendingEntry {

    private final LocalCache cache;
    private final URI uri;
    private final ObjectVersion version;
    private final String key;
    private final Path temp;
    private final FileChannel channel;
    private final RangeSet written = new RangeSet();
    private volatile boolean finished;

    /** The SHA-256 the file must have (lower-case hex), or null when not pinned. */
    private final String sha256;

    PendingEntry(
            LocalCache cache,
            URI uri,
            ObjectVersion version,
            String key,
            Path temp,
            FileChannel channel,
            String sha256) {
        this.sha256 = sha256;
        this.cache = cache;
        this.uri = uri;
        this.version = version;
        this.key = key;
        this.temp = temp;
        this.channel = channel;
    }

    /** The object this entry caches. */
    public URI uri() {
        return uri;
    }

    /** The pinned version this entry caches. */
    public ObjectVersion version() {
        return version;
    }

    /**
     * Writes {@code src.remaining()} bytes at file offset {@code offset}, advancing {@code src}.
     *
     * @throws IndexOutOfBoundsException if the range lies outside {@code [0, version.size())}
     * @throws IllegalStateException after commit or abort
     * @throws IOException if the write fails (disk full)
     */
    public void write(long offset, ByteBuffer src) throws IOException {
        checkNotFinished();
        long end = checkRange(offset, src.remaining());
        long pos = offset;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
        written.add(offset, end);
    }

    /** {@link #commit(OptionalInt)} with no expected CRC-32C. */
    public CacheEntry commit() throws IOException {
        return commit(OptionalInt.empty());
    }

    /**
     * Publishes the entry: requires every byte of {@code [0, size)} written, fsyncs, checks the
     * file size, computes the whole-file CRC-32C (reading the temp file back) and compares it with
     * {@code expectedCrc32c} if given, writes and fsyncs the sidecar, renames data then sidecar
     * atomically to their final names and fsyncs the directory.
     *
     * @return the sidecar written
     * @throws IOException naming the object's URI and the cause, after deleting the temp files;
     *     nothing is left under the final names
     */
    public CacheEntry commit(OptionalInt expectedCrc32c) throws IOException {
        return commit(expectedCrc32c, null, null);
    }

    /**
     * As {@link #commit(OptionalInt)}, with the checksums the writer's caller computed from the
     * bytes it wrote: the header's CRC-32C and each tensor's in data-offset order. When they fit
     * the file's header (one per tensor) and no SHA-256 is pinned, the file is not read back: the
     * whole-file CRC-32C is combined from them, so each byte is checksummed once, where it was
     * staged. A hit on the entry checks every tensor against them while it stages.
     *
     * @throws IOException as {@link #commit(OptionalInt)}
     */
    public CacheEntry commit(OptionalInt expectedCrc32c, int headerCrc32c, int[] tensorCrc32c)
            throws IOException {
        return commit(expectedCrc32c, (Integer) headerCrc32c, tensorCrc32c);
    }

    private CacheEntry commit(OptionalInt expectedCrc32c, Integer headerCrc, int[] tensorCrcs)
            throws IOException {
        checkNotFinished();
        finished = true;
        Path sidecarTemp = cache.tempSidecarPath(key);
        boolean dataPublished = false;
        try {
            CacheEntry entry = verify(expectedCrc32c, headerCrc, tensorCrcs);
            writeSidecar(sidecarTemp, entry);
            synchronized (LocalCache.lockFor(key)) {
                move(temp, cache.dataPath(key));
                dataPublished = true;
                move(sidecarTemp, cache.sidecarPath(key));
            }
            cache.syncDirectory();
            channel.close(); // releases the writer's lock on the (now renamed) temp file
            LocalCache.WRITING_HERE.remove(temp.toAbsolutePath().normalize());
            cache.afterPublish(key, entry);
            return entry;
        } catch (IOException | RuntimeException e) {
            cleanUp(sidecarTemp, dataPublished);
            throw new IOException(
                    "cache entry for " + Redaction.uri(uri) + " not published: " + e.getMessage(),
                    e);
        }
    }

    /** Drops the entry: closes and deletes the temp file. Idempotent; no-op after commit. */
    public void abort() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        channel.close();
        LocalCache.WRITING_HERE.remove(temp.toAbsolutePath().normalize());
        Files.deleteIfExists(temp);
    }

    /** Where the data file is published by {@link #commit}. */
    /** The byte ranges of the file not written yet, as {@code start, end} pairs in order. */
    public java.util.List<long[]> gaps() {
        return written.gaps(version.size());
    }

    public Path dataFile() {
        return cache.dataPath(key);
    }

    /** The temp file (for tests and diagnostics). */
    Path tempFile() {
        return temp;
    }

    private CacheEntry verify(OptionalInt expectedCrc32c, Integer stagedHeader, int[] stagedTensors)
            throws IOException {
        String gap = written.firstGap(version.size());
        if (gap != null) {
            throw new IOException("bytes " + gap + " of " + version.size() + " never written");
        }
        channel.force(true);
        long size = channel.size(); // the channel (and its lock) stays open until published
        if (size != version.size()) {
            throw new IOException("temp file has " + size + " bytes, expected " + version.size());
        }
        MessageDigest digest = sha256 == null ? null : LocalCache.sha256();
        long[] bounds = segments(temp, size, uri);
        int[] segmentCrcs = new int[Math.max(0, bounds.length - 1)];
        int crc;
        if (digest == null
                && stagedHeader != null
                && stagedTensors != null
                && stagedTensors.length + 1 == segmentCrcs.length) {
            segmentCrcs[0] = stagedHeader;
            System.arraycopy(stagedTensors, 0, segmentCrcs, 1, stagedTensors.length);
            crc = 0;
            for (int i = 0; i < segmentCrcs.length; i++) {
                crc = Crc32c.combine(crc, segmentCrcs[i], bounds[i + 1] - bounds[i]);
            }
        } else {
            crc = LocalCache.crc32cOf(temp, digest, bounds, segmentCrcs);
        }
        if (digest != null && !sha256.equals(HexFormat.of().formatHex(digest.digest()))) {
            throw new IOException("bytes do not have the pinned SHA-256 " + sha256);
        }
        if (expectedCrc32c.isPresent() && expectedCrc32c.getAsInt() != crc) {
            throw new IOException(
                    String.format("CRC-32C %08x, expected %08x", crc, expectedCrc32c.getAsInt()));
        }
        Long headerCrc = null;
        java.util.List<Long> tensorCrcs = null;
        if (segmentCrcs.length > 0) {
            headerCrc = Integer.toUnsignedLong(segmentCrcs[0]);
            tensorCrcs = new java.util.ArrayList<>(segmentCrcs.length - 1);
            for (int i = 1; i < segmentCrcs.length; i++) {
                tensorCrcs.add(Integer.toUnsignedLong(segmentCrcs[i]));
            }
        }
        return new CacheEntry(
                Redaction.uri(uri),
                version.size(),
                version.etag(),
                Integer.toUnsignedLong(crc),
                sha256,
                Instant.now().toString(),
                headerCrc,
                tensorCrcs);
    }

    /**
     * The boundaries of the checksummed segments of a safetensors file: {@code 0}, the header's end
     * {@code 8 + N}, then each tensor's end in data-offset order (the tensors tile the data
     * section, so the last boundary is the file size). Empty when the file is not valid
     * safetensors: its entry then records no per-tensor checksums.
     */
    private static long[] segments(Path file, long size, URI uri) throws IOException {
        if (size < 8) {
            return new long[0];
        }
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer prefix = ByteBuffer.allocate(8);
            while (prefix.hasRemaining() && c.read(prefix, prefix.position()) >= 0) {}
            String name = Redaction.uri(uri);
            long n = io.warmstage.format.HeaderParser.readHeaderLength(prefix.array(), size, name);
            ByteBuffer json = ByteBuffer.allocate(Math.toIntExact(n));
            while (json.hasRemaining() && c.read(json, 8 + json.position()) >= 0) {}
            var header = io.warmstage.format.HeaderParser.parse(json.array(), size, name);
            var tensors = header.tensors();
            long[] bounds = new long[tensors.size() + 2];
            bounds[1] = 8 + n;
            for (int i = 0; i < tensors.size(); i++) {
                bounds[i + 2] = 8 + n + tensors.get(i).end();
            }
            return bounds[bounds.length - 1] == size ? bounds : new long[0];
        } catch (io.warmstage.format.SafetensorsException | ArithmeticException e) {
            return new long[0];
        }
    }

    private static void writeSidecar(Path path, CacheEntry entry) throws IOException {
        ByteBuffer json = ByteBuffer.wrap(LocalCache.JSON.writeValueAsBytes(entry));
        try (FileChannel c =
                FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (json.hasRemaining()) {
                c.write(json);
            }
            c.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void cleanUp(Path sidecarTemp, boolean dataPublished) {
        deleteQuietly(temp);
        deleteQuietly(sidecarTemp);
        if (dataPublished) {
            deleteQuietly(cache.dataPath(key));
        }
        try {
            channel.close();
        } catch (IOException e) {
            // Already failing; the temp file is gone.
        }
        LocalCache.WRITING_HERE.remove(temp.toAbsolutePath().normalize());
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // Best effort while failing.
        }
    }

    private long checkRange(long offset, long length) {
        long end;
        try {
            end = Math.addExact(offset, length);
        } catch (ArithmeticException e) {
            end = -1;
        }
        if (offset < 0 || end < 0 || end > version.size()) {
            throw new IndexOutOfBoundsException(
                    "write at "
                            + offset
                            + " of "
                            + length
                            + " bytes outside "
                            + Redaction.uri(uri)
                            + " ("
                            + version.size()
                            + " bytes)");
        }
        return end;
    }

    private void checkNotFinished() {
        if (finished) {
            throw new IllegalStateException(
                    "cache entry for " + Redaction.uri(uri) + " already finished");
        }
    }
}
