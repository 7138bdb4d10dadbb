package io.warmstage.cache;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.memory.Crc32c;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host-local cache of verified object copies in one directory (DESIGN.md, "Cache rules").
 *
 * <p>Layout: {@code <dir>/<key>.safetensors} (data) and {@code <dir>/<key>.entry.json} (sidecar
 * {@link CacheEntry}), with {@code key = }{@link #key}; writers' temp files live in {@code
 * <dir>/.tmp/} under unique names. Writers publish with {@link #begin}: a private temp file, fsync,
 * size and coverage check, atomic rename of the data, then of the sidecar, so a reader that finds
 * the sidecar finds complete data. A published file is never opened for writing. Thread-safe;
 * several writers (threads or processes) of the same entry may race, the last rename wins and each
 * publishes identical content.
 */
public final class LocalCache {
    private static final Object[] KEY_LOCKS = new Object[64];

    static {
        for (int i = 0; i < KEY_LOCKS.length; i++) {
            KEY_LOCKS[i] = new Object();
        }
    }

    static final String DATA_SUFFIX = ".safetensors";
    static final String SIDECAR_SUFFIX = ".entry.json";
    static final ObjectMapper JSON = new ObjectMapper();

    static final String CORRUPT_SUFFIX = ".corrupt";

    /**
     * Temp files whose writer in this JVM holds their lock: a dead-writer check must not open (and
     * close) another channel on them, since on Linux closing any descriptor of a file drops every
     * POSIX lock the process holds on it.
     */
    static final Set<Path> WRITING_HERE = ConcurrentHashMap.newKeySet();

    /** Data files whose CRC-32C was checked in this JVM, by path, size and modification time. */
    private static final Map<String, Boolean> VERIFIED = new ConcurrentHashMap<>();

    private static final Logger LOG = LoggerFactory.getLogger(LocalCache.class);

    /** Origins whose untrusted versions were warned about in this JVM. */
    private static final Set<String> WARNED_ORIGINS = ConcurrentHashMap.newKeySet();

    private final Path dir;
    private final Path tmp;
    private final long maxBytes;
    private final Duration inUse;
    private Map<String, String> pins = Map.of();

    /**
     * Opens (creating if needed) the cache in {@code dir}.
     *
     * @throws IOException if {@code dir} or {@code dir/.tmp} cannot be created
     */
    public LocalCache(Path dir) throws IOException {
        this(dir, Long.MAX_VALUE, Duration.ZERO);
    }

    /**
     * Opens (creating if needed) the cache in {@code dir}, capped at {@code maxBytes} of published
     * data: each publish evicts least-recently-used entries not used within {@code inUse} until the
     * data fits. Temp files of writers that died are deleted.
     *
     * @throws IOException if {@code dir} or {@code dir/.tmp} cannot be created
     */
    public LocalCache(Path dir, long maxBytes, Duration inUse) throws IOException {
        this.dir = dir.toAbsolutePath().normalize();
        this.tmp = this.dir.resolve(".tmp");
        this.maxBytes = maxBytes;
        this.inUse = inUse;
        Files.createDirectories(tmp);
        new CacheDirectory(this.dir).deleteDeadTemps();
    }

    /**
     * Opens the cache in {@code dir} with the cap and in-use time of {@code config} ({@link
     * CacheOptions#CACHE_MAX_SIZE}, {@link CacheOptions#CACHE_IN_USE}).
     */
    public static LocalCache open(Path dir, org.apache.flink.configuration.Configuration config)
            throws IOException {
        long max =
                config.getOptional(CacheOptions.CACHE_MAX_SIZE)
                        .map(org.apache.flink.configuration.MemorySize::getBytes)
                        .orElse(Long.MAX_VALUE);
        LocalCache cache = new LocalCache(dir, max, config.get(CacheOptions.CACHE_IN_USE));
        cache.pins = ContentPins.of(config);
        return cache;
    }

    /** The key of the entry holding the file whose SHA-256 is {@code sha256}, whatever its URI. */
    public static String contentKey(String sha256) {
        String canonical = "warmstage-cache-sha256\n" + sha256;
        return HexFormat.of().formatHex(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * True if the data file's CRC-32C equals the sidecar's: a copy whose bytes changed on disk
     * (same size) is never trusted. The check reads the file once per JVM and modification.
     */
    private static boolean contentMatches(Path data, CacheEntry entry) throws IOException {
        if (entry.crc32c() == null) {
            return false;
        }
        String id =
                data
                        + "\n"
                        + Files.size(data)
                        + "\n"
                        + Files.getLastModifiedTime(data).toMillis()
                        + "\n"
                        + entry.crc32c();
        Boolean ok = VERIFIED.get(id);
        if (ok == null) {
            ok = Integer.toUnsignedLong(crc32cOf(data)) == entry.crc32c();
            VERIFIED.put(id, ok);
        }
        return ok;
    }

    /** CRC-32C of a whole file, read in 1 MiB pieces. */
    static int crc32cOf(Path file) throws IOException {
        return crc32cOf(file, null);
    }

    /** CRC-32C of a whole file, read in 1 MiB pieces, also fed to {@code sha256} if not null. */
    static int crc32cOf(Path file, MessageDigest sha256) throws IOException {
        return crc32cOf(file, sha256, new long[0], new int[0]);
    }

    /**
     * CRC-32C of a whole file in one pass, read in 1 MiB pieces, also fed to {@code sha256} if not
     * null. With {@code bounds} (ascending offsets from 0 to the file size), also the CRC-32C of
     * each segment {@code [bounds[i], bounds[i + 1])} into {@code segments[i]}; the whole file's
     * value is then combined from them, so each byte is checksummed once.
     */
    static int crc32cOf(Path file, MessageDigest sha256, long[] bounds, int[] segments)
            throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        int seg = 0;
        long pos = 0;
        int whole = 0;
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            while (c.read(buf.clear()) >= 0) {
                buf.flip();
                if (sha256 != null) {
                    sha256.update(buf.duplicate());
                }
                if (segments.length == 0) {
                    crc.update(buf);
                    continue;
                }
                while (buf.hasRemaining()) {
                    while (seg < segments.length && bounds[seg + 1] <= pos) {
                        seg++; // an empty segment (a zero-byte tensor)
                    }
                    if (seg == segments.length) {
                        throw new IOException(file + " is longer than its last segment");
                    }
                    int n = (int) Math.min(buf.remaining(), bounds[seg + 1] - pos);
                    crc.update(buf.slice(buf.position(), n));
                    buf.position(buf.position() + n);
                    pos += n;
                    if (pos == bounds[seg + 1]) {
                        segments[seg] = (int) crc.getValue();
                        whole = Crc32c.combine(whole, segments[seg], bounds[seg + 1] - bounds[seg]);
                        crc.reset();
                        seg++;
                    }
                }
            }
        }
        if (segments.length == 0) {
            return (int) crc.getValue();
        }
        for (; seg < segments.length; seg++) {
            if (bounds[seg + 1] != pos) {
                throw new IOException(file + " ends at " + pos + ", before " + bounds[seg + 1]);
            }
            segments[seg] = 0; // empty trailing segments
        }
        return whole;
    }

    /**
     * After {@code entry} was published under {@code key}: retires other versions of its URI and
     * evicts least-recently-used entries over the size cap. Best effort: a failure leaves entries
     * for the next publish or {@code warmstage cache prune}.
     */
    void afterPublish(String key, CacheEntry entry) {
        try {
            CacheDirectory d = new CacheDirectory(dir);
            d.retireSuperseded(key, entry)
                    .forEach(e -> LOG.info("Cache: retired {} at {}", e.uri(), e.sidecar().etag()));
            if (maxBytes != Long.MAX_VALUE) {
                d.evictToFit(maxBytes, inUse, key)
                        .forEach(e -> LOG.info("Cache: evicted {} ({} bytes)", e.uri(), e.bytes()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cache: upkeep of {} failed: {}", dir, e.toString());
        }
    }

    /**
     * Why the last copy of {@code uri} at {@code version} found here was corrupt, once: the note is
     * removed. Empty when none was.
     */
    public Optional<String> takeCorruptNote(URI uri, ObjectVersion version) {
        String pin = ContentPins.pinOf(pins, uri.toString());
        Path note =
                dir.resolve((pin != null ? contentKey(pin) : key(uri, version)) + CORRUPT_SUFFIX);
        try {
            String why = Files.readString(note, StandardCharsets.UTF_8);
            Files.deleteIfExists(note);
            return Optional.of(why);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The cache directory. */
    public Path dir() {
        return dir;
    }

    /**
     * The entry key of {@code uri} at {@code version}: SHA-256, lower-case hex (64 chars), of a
     * length-prefixed canonical string of the normalized URI, the size and the ETag (or its
     * absence). Raw names never appear in cache paths. A URI with credentials (user info, a
     * presigned URL's signature) is keyed without them, so that a re-signed URL finds its entry.
     */
    public static String key(URI uri, ObjectVersion version) {
        URI n = uri.normalize();
        String u = Redaction.hasCredentials(n) ? Redaction.uri(n) : n.toString();
        String etag = version.etag();
        String canonical =
                "warmstage-cache-v1\n"
                        + u.length()
                        + ":"
                        + u
                        + "\n"
                        + version.size()
                        + "\n"
                        + (etag == null ? "none" : etag.length() + ":" + etag);
        return HexFormat.of().formatHex(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * True if {@code version} tells versions apart well enough to trust a cached copy: a strong
     * ETag, a Last-Modified or modification time, an S3 ETag, a GCS generation, a file's
     * modification and change time with its inode. Not: no token, or only a weak ETag ({@code
     * W/"..."}, which promises equivalent, not identical, bytes: RFC 9110 section 8.8.1).
     */
    public static boolean trusts(ObjectVersion version) {
        String t = version.etag();
        return t != null && !t.isBlank() && !t.startsWith("W/");
    }

    /**
     * The published data file of {@code uri} at {@code version}, if its sidecar exists, parses,
     * matches uri, size and ETag, the data file has exactly {@code version.size()} bytes, and its
     * CRC-32C equals the sidecar's (read once per JVM and modification of the file). Otherwise
     * deletes that entry's data file and sidecar (never a writer's temp file) and returns empty.
     * Empty, and nothing deleted, for a version the cache does not {@link #trusts trust} (warned
     * once per origin in the log).
     *
     * @throws IOException if a stale piece cannot be deleted
     */
    public Optional<Path> lookup(URI uri, ObjectVersion version) throws IOException {
        return lookup(uri, version, false).map(CachedCopy::data);
    }

    /**
     * As {@link #lookup}, but an entry that records its header's and every tensor's CRC-32C ({@link
     * CacheEntry#checkableWhileStaged}) is returned without reading the data file: whoever stages
     * the copy checks each tensor against the entry as its bytes pass, and calls {@link #reject} on
     * a mismatch. Entries without them are checked whole, as by {@link #lookup}.
     *
     * @throws IOException if a stale piece cannot be deleted
     */
    public Optional<CachedCopy> find(URI uri, ObjectVersion version) throws IOException {
        return lookup(uri, version, true);
    }

    /**
     * A published copy and its sidecar.
     *
     * @param data the data file
     * @param entry its sidecar
     */
    public record CachedCopy(Path data, CacheEntry entry) {}

    /**
     * Removes the copy of {@code uri} at {@code version} after its bytes were found not to match
     * its sidecar while they were staged: warns, notes why (see {@link #takeCorruptNote}) and
     * deletes the data file and sidecar. Nothing happens when there is no such entry.
     *
     * @param why what did not match, e.g. the tensor and both checksums
     * @throws IOException if the entry cannot be deleted
     */
    public void reject(URI uri, ObjectVersion version, String why) throws IOException {
        String pin = ContentPins.pinOf(pins, uri.toString());
        String key = pin != null ? contentKey(pin) : key(uri, version);
        Path data = dataPath(key);
        Path sidecar = sidecarPath(key);
        synchronized (lockFor(key)) {
            if (!Files.exists(sidecar) && !Files.exists(data)) {
                return;
            }
            noteCorrupt(key, uri, data, why);
            Files.deleteIfExists(sidecar);
            Files.deleteIfExists(data);
        }
    }

    /**
     * The key under which a cache holds {@code uri} at {@code version}: {@link #contentKey} of the
     * file's SHA-256 when {@code pins} pins it ({@link ContentPins}), else {@link #key}; null when
     * neither applies (no pin and a version the cache does not {@link #trusts trust}: never
     * cached).
     *
     * @param pins SHA-256 pins by URI ({@link ContentPins#of})
     */
    public static String keyOf(Map<String, String> pins, URI uri, ObjectVersion version) {
        String pin = ContentPins.pinOf(pins, uri.toString());
        if (pin == null && !trusts(version)) {
            return null;
        }
        return pin != null ? contentKey(pin) : key(uri, version);
    }

    /**
     * Whether {@code entry} (a sidecar, this host's or a peer's) describes {@code uri} at {@code
     * version}: with a pin, the same SHA-256 and size; without, the same URI, size and ETag.
     *
     * @param pins SHA-256 pins by URI ({@link ContentPins#of})
     */
    public static boolean describes(
            Map<String, String> pins, CacheEntry entry, URI uri, ObjectVersion version) {
        String pin = ContentPins.pinOf(pins, uri.toString());
        return pin != null
                ? pin.equals(entry.sha256()) && entry.size() == version.size()
                : entry.matches(uri, version);
    }

    private Optional<CachedCopy> lookup(URI uri, ObjectVersion version, boolean deferCheck)
            throws IOException {
        String key = keyOf(pins, uri, version);
        if (key == null) {
            warnUntrusted(uri, version);
            return Optional.empty();
        }
        Path data = dataPath(key);
        Path sidecar = sidecarPath(key);
        synchronized (lockFor(key)) {
            Optional<CacheEntry> entry = readSidecar(sidecar);
            boolean described =
                    entry.isPresent()
                            && describes(pins, entry.get(), uri, version)
                            && sizeOf(data) == version.size();
            if (described
                    && ((deferCheck && entry.get().checkableWhileStaged())
                            || contentMatches(data, entry.get()))) {
                CacheDirectory.touch(sidecar);
                return Optional.of(new CachedCopy(data, entry.get()));
            }
            if (described) {
                noteCorrupt(
                        key,
                        uri,
                        data,
                        "its CRC-32C no longer matches its sidecar's "
                                + String.format("%08x", entry.get().crc32c()));
            }
            Files.deleteIfExists(sidecar);
            Files.deleteIfExists(data);
            return Optional.empty();
        }
    }

    /**
     * The lock that orders a publish (its two renames) against a lookup's check-and-clean of the
     * same key, JVM-wide: every cache writer and reader of one TaskManager shares it. Processes
     * that share one cache directory are not ordered by it.
     */
    static Object lockFor(String key) {
        return KEY_LOCKS[(key.hashCode() & 0x7fffffff) % KEY_LOCKS.length];
    }

    /**
     * The sidecar of a published entry, if present and parseable; nothing is checked or deleted.
     */
    public Optional<CacheEntry> entry(URI uri, ObjectVersion version) {
        return readSidecar(sidecarPath(key(uri, version)));
    }

    /**
     * Starts writing {@code uri} at {@code version} into a new private temp file.
     *
     * @throws UntrustedVersionException if the cache does not {@link #trusts trust} the version
     * @throws IOException if the temp file cannot be created
     */
    public PendingEntry begin(URI uri, ObjectVersion version) throws IOException {
        String pin = ContentPins.pinOf(pins, uri.toString());
        if (pin == null && !trusts(version)) {
            warnUntrusted(uri, version);
            throw new UntrustedVersionException(uri, version);
        }
        String key = pin != null ? contentKey(pin) : key(uri, version);
        Path temp = tmp.resolve(key + "." + UUID.randomUUID() + ".part");
        FileChannel channel =
                FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            // Held until the channel closes: tells cleaners of other processes this writer lives.
            if (channel.tryLock() != null) {
                WRITING_HERE.add(temp.toAbsolutePath().normalize());
            }
        } catch (IOException | RuntimeException e) {
            // no locks on this file system: the temp file may be taken for a dead writer's
        }
        return new PendingEntry(this, uri, version, key, temp, channel, pin);
    }

    Path dataPath(String key) {
        return dir.resolve(key + DATA_SUFFIX);
    }

    Path sidecarPath(String key) {
        return dir.resolve(key + SIDECAR_SUFFIX);
    }

    Path tempSidecarPath(String key) {
        return tmp.resolve(key + "." + UUID.randomUUID() + SIDECAR_SUFFIX);
    }

    /** Flushes the directory's entries (the renames) to disk. */
    void syncDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** A published copy whose bytes no longer match its sidecar: warned, noted, then deleted. */
    private void noteCorrupt(String key, URI uri, Path data, String detail) {
        String why =
                "cached copy "
                        + data
                        + " of "
                        + Redaction.uri(uri)
                        + " was corrupt ("
                        + detail
                        + "): removed and fetched again";
        LOG.warn("{}", why);
        try {
            Files.writeString(dir.resolve(key + CORRUPT_SUFFIX), why, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // the warning stands alone
        }
    }

    private static void warnUntrusted(URI uri, ObjectVersion version) {
        if (WARNED_ORIGINS.add(UntrustedVersionException.origin(uri))) {
            LOG.warn("{}", new UntrustedVersionException(uri, version).getMessage());
        }
    }

    private static Optional<CacheEntry> readSidecar(Path sidecar) {
        try {
            return Optional.of(JSON.readValue(sidecar.toFile(), CacheEntry.class));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.size(file) : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    /** A new SHA-256 digest. */
    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
