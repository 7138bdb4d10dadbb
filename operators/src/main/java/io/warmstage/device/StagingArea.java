package io.warmstage.device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A host's staging area: the directory holding the cpu device's staging files of every job and slot
 * on the host ({@code <warmstage.staging.dir>[/<simulated host>]}), and the staged set's registry
 * ({@link #registryDir()}).
 *
 * <p>Access: files are created {@code rw-r-----} (0640) and directories {@code rwxr-x---} (0750),
 * so that a model server running as another user of the configured group can read them; nothing is
 * ever world-readable or world-writable. Size: with a cap ({@code warmstage.staging.max-size}), a
 * new file is created only if the apparent sizes of every file under the area, plus its own, fit
 * under the cap; the check and the creation hold a lock on {@code <area>/.lock}, so slots and
 * processes of the host see each other's reservations. Nothing is ever evicted to make room.
 */
public final class StagingArea {
    /** Mode of staging files and registry entries. */
    public static final Set<PosixFilePermission> FILE_MODE =
            PosixFilePermissions.fromString("rw-r-----");

    /** Mode of the area's directories. */
    public static final Set<PosixFilePermission> DIR_MODE =
            PosixFilePermissions.fromString("rwxr-x---");

    private static final Object JVM_LOCK = new Object();
    private static final String LOCK_FILE = ".lock";

    private final Path root;
    private final String group;
    private final long maxBytes;

    /**
     * @param root the host's staging area (created, with its missing parents, on first use)
     * @param group the group that may read staged files and entries, or null for the process's own
     *     group
     * @param maxBytes the cap on the area's bytes, or {@link Long#MAX_VALUE} for none
     */
    public StagingArea(Path root, String group, long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("negative staging area cap " + maxBytes);
        }
        this.root = root.toAbsolutePath().normalize();
        this.group = group == null || group.isBlank() ? null : group.trim();
        this.maxBytes = maxBytes;
    }

    /** An area without a group and without a cap. */
    public static StagingArea unbounded(Path root) {
        return new StagingArea(root, null, Long.MAX_VALUE);
    }

    /** The area's directory. */
    public Path root() {
        return root;
    }

    /** The staged set's registry: one JSON entry per staged file. */
    public Path registryDir() {
        return root.resolve("registry");
    }

    /** The cap in bytes, or {@link Long#MAX_VALUE}. */
    public long maxBytes() {
        return maxBytes;
    }

    /** The group given read access, or null. */
    public String group() {
        return group;
    }

    /**
     * Creates {@code dir} and its missing parents with {@link #DIR_MODE} and the group; parents
     * above the area's root are created with the process's defaults.
     *
     * @throws UncheckedIOException if a directory cannot be created or the group does not exist
     */
    public Path createDirectories(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        try {
            if (!target.startsWith(root)) {
                Files.createDirectories(target);
                return target;
            }
            Files.createDirectories(root.getParent() == null ? root : root.getParent());
            Path at = root;
            mkdir(at);
            for (Path part : root.relativize(target)) {
                at = at.resolve(part);
                mkdir(at);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create staging directory " + dir + ": " + e, e);
        }
    }

    /** The attribute that creates a file with {@link #FILE_MODE}. */
    public FileAttribute<Set<PosixFilePermission>> fileAttribute() {
        return PosixFilePermissions.asFileAttribute(FILE_MODE);
    }

    /**
     * Gives {@code path} the area's mode ({@link #FILE_MODE} or {@link #DIR_MODE}, whatever the
     * umask) and group.
     *
     * @throws IOException if the mode or group cannot be set (an unknown group: the message names
     *     it)
     */
    public void share(Path path) throws IOException {
        PosixFileAttributeView view =
                Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: its defaults apply
        }
        view.setPermissions(Files.isDirectory(path) ? DIR_MODE : FILE_MODE);
        if (group != null) {
            GroupPrincipal g;
            try {
                g =
                        FileSystems.getDefault()
                                .getUserPrincipalLookupService()
                                .lookupPrincipalByGroupName(group);
            } catch (IOException e) {
                throw new IOException(
                        "warmstage.staging.group: no group '" + group + "' on this host", e);
            }
            view.setGroup(g);
        }
    }

    /**
     * Runs {@code create} if {@code bytes} more fit under the cap, holding the area's lock so that
     * concurrent reservations on the host are counted. {@code create} must leave a file of {@code
     * bytes} apparent size under the area (sparse is fine) before it returns.
     *
     * @param what the file being staged, for the error message
     * @throws DeviceException when the area's files and {@code bytes} exceed the cap (the message
     *     gives the area, both sizes and the cap; nothing is evicted)
     */
    public <T> T reserve(long bytes, String what, Creation<T> create) throws DeviceException {
        if (maxBytes == Long.MAX_VALUE) {
            return create.create();
        }
        synchronized (JVM_LOCK) {
            createDirectories(root);
            try (FileChannel lock =
                            FileChannel.open(
                                    root.resolve(LOCK_FILE),
                                    StandardOpenOption.CREATE,
                                    StandardOpenOption.WRITE);
                    FileLock held = lock.lock()) {
                long used = usedBytes();
                if (Math.addExact(used, bytes) > maxBytes) {
                    throw new DeviceException(
                            "cpu: "
                                    + what
                                    + " needs "
                                    + Sizes.describe(bytes)
                                    + " but staging area "
                                    + root
                                    + " holds "
                                    + Sizes.describe(used)
                                    + " of its cap of "
                                    + Sizes.describe(maxBytes)
                                    + " (warmstage.staging.max-size): not staged, nothing"
                                    + " evicted");
                }
                return create.create();
            } catch (IOException e) {
                throw new DeviceException("cpu: cannot lock staging area " + root + ": " + e, e);
            }
        }
    }

    /** Apparent bytes of every regular file under the area (staging files, temp files, entries). */
    public long usedBytes() throws IOException {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(root)) {
            long sum = 0;
            for (Path p : (Iterable<Path>) files::iterator) {
                try {
                    if (Files.isRegularFile(p)) {
                        sum = Math.addExact(sum, Files.size(p));
                    }
                } catch (IOException e) {
                    // removed while walking
                }
            }
            return sum;
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Creates a file under the area. */
    @FunctionalInterface
    public interface Creation<T> {
        T create() throws DeviceException;
    }

    private void mkdir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return; // created by another slot meanwhile
            } catch (UnsupportedOperationException e) {
                Files.createDirectories(dir);
            }
            share(dir);
        }
    }
}
