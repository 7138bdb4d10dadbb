package io.warmstage.staging;

import io.warmstage.storage.FileId;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache writer per host and file: the staging slots of a host claim each file they are about to
 * write into the host's cache, and only the first slot to claim it writes.
 *
 * <p>A claim holds between the slots of one JVM (a map) and between the TaskManager processes of
 * one host: the claiming slot also takes an exclusive lock ({@link FileChannel#tryLock()}) on a
 * lock file {@code <cacheDir>/.claims/<sha-256 of the file and version>.lock}. The operating system
 * drops the lock when the process dies, so a slot that restarts after a failure never leaves a host
 * without a writer. A slot that finds the file claimed elsewhere (in its JVM or in another process)
 * does not write it, and asks no more until it closes. Lock files stay (tiny, one per file and
 * version): deleting one while another process may be about to lock it would allow two writers.
 */
final class CacheClaims {
    private static final Logger LOG = LoggerFactory.getLogger(CacheClaims.class);

    /** The lock files' folder under a host's cache directory. */
    static final String CLAIMS_DIR = ".claims";

    private static final Map<Key, Claim> CLAIMS = new ConcurrentHashMap<>();

    /** A file in one host cache. */
    private record Key(String cacheDir, FileId file) {}

    /**
     * A slot's answer for one file: whether it writes it, and the lock (with its channel) it holds
     * for that; no lock when the claim needs none (no cache directory) or was refused.
     */
    private record Claim(Object owner, FileChannel channel, FileLock lock, boolean writes) {}

    private CacheClaims() {}

    /**
     * @param cacheDir the host cache the file would go into
     * @param file the file's URI and pinned version
     * @param owner the claiming slot instance
     * @return whether {@code owner} writes the file: false when another slot of this JVM claimed
     *     it, or another process holds its lock file; also false (with a warning) when the lock
     *     file cannot be created, so that no two processes ever write one file
     */
    static boolean claim(String cacheDir, FileId file, Object owner) {
        Claim held =
                CLAIMS.computeIfAbsent(new Key(cacheDir, file), k -> lock(cacheDir, file, owner));
        return held.owner == owner && held.writes;
    }

    /** Drops every claim of {@code owner} (the slot closes, normally or after a failure). */
    static void releaseAll(Object owner) {
        CLAIMS.entrySet()
                .removeIf(
                        e -> {
                            if (e.getValue().owner != owner) {
                                return false;
                            }
                            close(e.getValue());
                            return true;
                        });
    }

    /**
     * The lock file's name: the SHA-256 of {@code <uri>\n<version>} ({@link
     * io.warmstage.storage.ObjectVersion#toString}), as every release names it, so that processes
     * of different releases on one host lock the same file.
     */
    static String lockName(FileId file) {
        return sha256(file.uri() + "\n" + file.version()) + ".lock";
    }

    private static Claim lock(String cacheDir, FileId file, Object owner) {
        if (cacheDir.isEmpty()) {
            return new Claim(owner, null, null, true); // no cache directory: this JVM's claims only
        }
        Path path = Path.of(cacheDir, CLAIMS_DIR, lockName(file));
        FileChannel ch = null;
        try {
            Files.createDirectories(path.getParent());
            ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                ch.close();
                return new Claim(
                        owner, null, null, false); // another process of this host writes it
            }
            return new Claim(owner, ch, lock, true);
        } catch (IOException | OverlappingFileLockException e) {
            LOG.warn(
                    "Cache claim lock {} for {} cannot be taken ({}): this slot does not write"
                            + " the file into the host cache",
                    path,
                    file,
                    e.toString());
            closeQuietly(ch);
            return new Claim(owner, null, null, false);
        }
    }

    private static void close(Claim c) {
        if (c.lock != null) {
            try {
                c.lock.release();
            } catch (IOException e) {
                // closing the channel below releases it too
            }
        }
        closeQuietly(c.channel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // the process's exit releases the lock in any case
            }
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
