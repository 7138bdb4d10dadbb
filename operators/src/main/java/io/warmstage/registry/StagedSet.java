package io.warmstage.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.device.StagingArea;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The staged set of a host: a registry directory ({@code <staging area>/registry}) holding one JSON
 * entry ({@link StagedEntry}) per staged file, for consumers on the host (model servers, {@code
 * Warmstage.loadFile}, the Python {@code warmstage.load_file}).
 *
 * <p>An entry is written to a private temp file and renamed into place atomically, so a reader sees
 * no entry or a complete one. Its name is a hash of the file's URI, version, job and slot, never
 * the raw URI. Entries take the staging area's mode and group ({@link StagingArea#share}).
 *
 * <p>Lifetime of the bytes: withdrawing an entry comes before its staging file is deleted. A
 * consumer that mapped the file keeps valid bytes until it unmaps (POSIX unlink semantics: the
 * pages are freed when the last mapping goes), so a refresh never pulls bytes from under a reader;
 * it only stops new readers from finding the old version.
 */
public final class StagedSet {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicLong TEMPS = new AtomicLong();

    private final StagingArea area;

    /** The staged set of the host whose staging area is {@code area}. */
    public StagedSet(StagingArea area) {
        this.area = area;
    }

    /** The staged set under {@code stagingDir} (a reader's view: no group, no cap). */
    public static StagedSet at(Path stagingDir) {
        return new StagedSet(StagingArea.unbounded(stagingDir));
    }

    /** The registry directory. */
    public Path directory() {
        return area.registryDir();
    }

    /**
     * Publishes {@code entry}, replacing an entry of the same file, job and slot.
     *
     * @return the entry's path, for {@link #withdraw}
     * @throws IOException if the entry cannot be written or renamed (nothing is left under its
     *     name)
     */
    public Path publish(StagedEntry entry) throws IOException {
        Path dir = area.createDirectories(directory());
        String name = entryName(entry);
        Path temp =
                dir.resolve(
                        "."
                                + name
                                + ".tmp-"
                                + ProcessHandle.current().pid()
                                + "-"
                                + TEMPS.incrementAndGet());
        Path target = dir.resolve(name);
        try {
            Files.write(
                    temp,
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry),
                    StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            area.share(temp);
            Files.move(
                    temp,
                    target,
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            return target;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Removes an entry; consumers no longer find the file. Idempotent. */
    public static void withdraw(Path entry) throws IOException {
        Files.deleteIfExists(entry);
    }

    /**
     * Every entry of the set, oldest first. Entries that cannot be read (being withdrawn, or not an
     * entry) are left out.
     */
    public List<StagedEntry> entries() {
        Path dir = directory();
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<StagedEntry> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (!n.startsWith(".") && n.endsWith(".json")) {
                    read(p).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list staged set " + dir + ": " + e, e);
        }
        out.sort(Comparator.comparing(StagedEntry::stagedAt));
        return out;
    }

    /**
     * The newest entry of {@code uri} (as recorded: without credentials) whose bytes are in host
     * memory and whose staging file is still there, if any.
     */
    public Optional<StagedEntry> findOnHost(String uri) {
        StagedEntry found = null;
        for (StagedEntry e : entries()) {
            if (e.uri().equals(uri) && e.onHost() && Files.isRegularFile(Path.of(e.file()))) {
                found = e; // entries are oldest first
            }
        }
        return Optional.ofNullable(found);
    }

    /**
     * The entry a staging slot published for a file, if it is still there.
     *
     * @param uri the file's URI as recorded (without credentials)
     */
    public Optional<Path> entryOf(
            String uri, long size, String etag, String job, int slot, String device) {
        Path p = directory().resolve(entryName(uri, size, etag, job, slot, device));
        return read(p).isPresent() ? Optional.of(p) : Optional.empty();
    }

    /** Reads one entry; empty if it is gone or unreadable. */
    public static Optional<StagedEntry> readEntry(Path entry) {
        return read(entry);
    }

    static String entryName(StagedEntry e) {
        return entryName(e.uri(), e.size(), e.etag(), e.job(), e.slot(), e.device());
    }

    /** An entry's file name: {@code sha256(uri, size, etag, job, slot, device)[:32 hex].json}. */
    static String entryName(
            String uri, long size, String etag, String job, int slot, String device) {
        String key = uri + "\n" + size + "\n" + etag + "\n" + job + "\n" + slot + "\n" + device;
        try {
            byte[] h =
                    MessageDigest.getInstance("SHA-256")
                            .digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16) + ".json";
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static Optional<StagedEntry> read(Path p) {
        try {
            StagedEntry e = JSON.readValue(p.toFile(), StagedEntry.class);
            return e.uri() == null || e.tensors() == null ? Optional.empty() : Optional.of(e);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
