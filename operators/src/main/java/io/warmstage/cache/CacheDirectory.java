package io.warmstage.cache;

import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Upkeep of one cache directory ({@link LocalCache}'s layout): the published entries with their
 * size and last use, checks of their data against their sidecars, the least-recently-used eviction
 * that keeps the directory under a size cap, the retirement of versions a newer one replaced, and
 * the removal of temp files whose writer died. Safe to run while writers and readers of other
 * processes use the directory: an entry is removed sidecar first (a reader that finds no sidecar
 * does not trust the data), and an open data file stays readable after its removal.
 */
public final class CacheDirectory {
    /** Sidecar temp files untouched this long and not locked are leftovers of a crashed write. */
    static final Duration STALE_SIDECAR_TEMP = Duration.ofMinutes(1);

    private final Path dir;

    /**
     * One published entry.
     *
     * @param key the entry key (64 hex digits)
     * @param sidecar the parsed sidecar
     * @param data the data file
     * @param bytes the data file's size in bytes
     * @param lastUse when a reader last found it (the sidecar's modification time)
     */
    public record Entry(String key, CacheEntry sidecar, Path data, long bytes, Instant lastUse) {
        /** The URI without credentials (entries written before redaction hold it as given). */
        public String uri() {
            return Redaction.uri(sidecar.uri());
        }
    }

    /**
     * @param dir a cache directory
     */
    public CacheDirectory(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** The published entries whose sidecar parses, least recently used first. */
    public List<Entry> entries() throws IOException {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> s =
                Files.newDirectoryStream(dir, "*" + LocalCache.SIDECAR_SUFFIX)) {
            for (Path sidecar : s) {
                entry(sidecar).ifPresent(out::add);
            }
        }
        out.sort(Comparator.comparing(Entry::lastUse).thenComparing(Entry::key));
        return out;
    }

    /** Total bytes of the published data files. */
    public long bytes() throws IOException {
        long sum = 0;
        for (Entry e : entries()) {
            sum = Math.addExact(sum, e.bytes());
        }
        return sum;
    }

    /**
     * Checks an entry's data against its sidecar: size, whole-file CRC-32C, and SHA-256 when the
     * entry was pinned by one.
     *
     * @return null if it matches, else what is wrong
     */
    public static String verify(Entry e) throws IOException {
        if (e.bytes() != e.sidecar().size()) {
            return e.bytes() + " bytes, the sidecar says " + e.sidecar().size();
        }
        if (e.sidecar().crc32c() == null) {
            return "no CRC-32C in the sidecar";
        }
        java.security.MessageDigest sha = e.sidecar().sha256() == null ? null : LocalCache.sha256();
        long crc = Integer.toUnsignedLong(LocalCache.crc32cOf(e.data(), sha));
        if (crc != e.sidecar().crc32c()) {
            return String.format("CRC-32C %08x, the sidecar says %08x", crc, e.sidecar().crc32c());
        }
        String got = sha == null ? null : java.util.HexFormat.of().formatHex(sha.digest());
        if (got != null && !got.equals(e.sidecar().sha256())) {
            return "SHA-256 " + got + ", the sidecar says " + e.sidecar().sha256();
        }
        return null;
    }

    /**
     * Removes least-recently-used entries not used within {@code inUse} until the published data
     * takes at most {@code maxBytes}; entries used more recently than that are taken as being read
     * by a running job and kept, even if the cap stays exceeded, and so is {@code keep} (null:
     * none).
     *
     * @return the entries removed
     */
    public List<Entry> evictToFit(long maxBytes, Duration inUse, String keep) throws IOException {
        List<Entry> all = entries();
        long total = 0;
        for (Entry e : all) {
            total = Math.addExact(total, e.bytes());
        }
        Instant busySince = Instant.now().minus(inUse);
        List<Entry> removed = new ArrayList<>();
        for (Entry e : all) {
            if (total <= maxBytes) {
                break;
            }
            if (!e.key().equals(keep) && e.lastUse().isBefore(busySince) && remove(e.key())) {
                total -= e.bytes();
                removed.add(e);
            }
        }
        return removed;
    }

    /**
     * Removes the entries of the same URI as {@code published} in another version: a newer version
     * was published and replaces them.
     *
     * @return the entries removed
     */
    public List<Entry> retireSuperseded(String key, CacheEntry published) throws IOException {
        String uri = Redaction.uri(published.uri());
        List<Entry> removed = new ArrayList<>();
        for (Entry e : entries()) {
            if (!e.key().equals(key) && e.uri().equals(uri) && remove(e.key())) {
                removed.add(e);
            }
        }
        return removed;
    }

    /**
     * Removes, for every URI held in several versions, all but the most recently used one.
     *
     * @return the entries removed
     */
    public List<Entry> retireAllSuperseded() throws IOException {
        java.util.Map<String, Entry> newest = new java.util.HashMap<>();
        for (Entry e : entries()) { // least recently used first: the last one wins
            newest.put(e.uri(), e);
        }
        List<Entry> removed = new ArrayList<>();
        for (Entry e : entries()) {
            if (!newest.get(e.uri()).key().equals(e.key()) && remove(e.key())) {
                removed.add(e);
            }
        }
        return removed;
    }

    /**
     * Deletes data files without a sidecar (a publish that died between its two renames), older
     * than {@link #STALE_SIDECAR_TEMP} so that a publish in progress keeps its data.
     *
     * @return how many were deleted
     */
    public int deleteOrphanData() throws IOException {
        int deleted = 0;
        Instant stale = Instant.now().minus(STALE_SIDECAR_TEMP);
        try (DirectoryStream<Path> s =
                Files.newDirectoryStream(dir, "*" + LocalCache.DATA_SUFFIX)) {
            for (Path data : s) {
                String name = data.getFileName().toString();
                String key = name.substring(0, name.length() - LocalCache.DATA_SUFFIX.length());
                Path sidecar = dir.resolve(key + LocalCache.SIDECAR_SUFFIX);
                try {
                    if (!Files.exists(sidecar)
                            && Files.getLastModifiedTime(data).toInstant().isBefore(stale)
                            && Files.deleteIfExists(data)) {
                        deleted++;
                    }
                } catch (NoSuchFileException e) {
                    // removed meanwhile
                }
            }
        }
        return deleted;
    }

    /**
     * Removes an entry: sidecar first, then data, then a corrupt-copy note.
     *
     * @return true if this call removed its sidecar
     */
    public boolean remove(String key) throws IOException {
        synchronized (LocalCache.lockFor(key)) {
            boolean removed = Files.deleteIfExists(dir.resolve(key + LocalCache.SIDECAR_SUFFIX));
            Files.deleteIfExists(dir.resolve(key + LocalCache.DATA_SUFFIX));
            return removed;
        }
    }

    /**
     * Deletes the temp files in {@code .tmp/} whose writer is gone: a data temp file is locked by
     * its writer's process for the writer's whole life ({@link FileChannel#tryLock}), so one that
     * can be locked here has no writer. A temp file written to within {@link #STALE_SIDECAR_TEMP}
     * is always kept: its writer may be between creating it and locking it (seen with two
     * TaskManager processes on one host: the second one's start deleted the first one's new temp
     * file), and a sidecar temp is written and renamed in one step.
     *
     * @return how many were deleted
     */
    public int deleteDeadTemps() throws IOException {
        Path tmp = dir.resolve(".tmp");
        if (!Files.isDirectory(tmp)) {
            return 0;
        }
        int deleted = 0;
        Instant staleSidecar = Instant.now().minus(STALE_SIDECAR_TEMP);
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(tmp)) {
            for (Path t : temps) {
                try {
                    // Written to within the last minute: a live writer's, perhaps between its
                    // create and its lock (another process must not take it for a dead one).
                    if (Files.getLastModifiedTime(t).toInstant().isAfter(staleSidecar)) {
                        continue;
                    }
                    if (ownerGone(t) && Files.deleteIfExists(t)) {
                        deleted++;
                    }
                } catch (NoSuchFileException e) {
                    // published or removed by its writer meanwhile
                }
            }
        }
        return deleted;
    }

    /** True if nobody holds the lock of {@code temp}: its writer is gone. */
    private static boolean ownerGone(Path temp) throws IOException {
        if (LocalCache.WRITING_HERE.contains(temp.toAbsolutePath().normalize())) {
            return false; // a writer of this JVM: opening and closing here would drop its lock
        }
        try (FileChannel c = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            FileLock lock = c.tryLock();
            if (lock == null) {
                return false; // another process writes it
            }
            lock.release();
            return true;
        } catch (OverlappingFileLockException e) {
            return false; // a writer of this JVM holds it
        }
    }

    /** Marks an entry used now (its sidecar's modification time). */
    static void touch(Path sidecar) {
        try {
            Files.setLastModifiedTime(sidecar, FileTime.from(Instant.now()));
        } catch (IOException e) {
            // read-only cache or removed meanwhile: last use stays as it was
        }
    }

    private Optional<Entry> entry(Path sidecar) {
        String name = sidecar.getFileName().toString();
        String key = name.substring(0, name.length() - LocalCache.SIDECAR_SUFFIX.length());
        Path data = dir.resolve(key + LocalCache.DATA_SUFFIX);
        try {
            CacheEntry e = LocalCache.JSON.readValue(sidecar.toFile(), CacheEntry.class);
            long bytes = Files.isRegularFile(data) ? Files.size(data) : -1;
            Instant lastUse = Files.getLastModifiedTime(sidecar).toInstant();
            return Optional.of(new Entry(key, e, data, bytes, lastUse));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
