package io.warmstage.device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The {@code cpu} device: host memory as shared-memory staging files. Every buffer is a file in
 * this device's staging directory (by default under {@code /dev/shm}, a tmpfs), written with
 * positional writes, so no JVM memory holds staged bytes: the JVM's resident set stays flat in
 * model size, and a file staged with {@link #allocateFile} is a complete safetensors file that
 * other processes of the host can map once it is published.
 *
 * <p>A buffer's file has a temp name ({@code .<name>.tmp-<n>}) until it is published; closing a
 * buffer deletes its file, published or not. Closing the device deletes every file it made and, for
 * a device that made its own directory, the directory. Thread-safe for allocation and close; each
 * buffer belongs to one owner.
 */
public final class HostDevice implements Device {
    /** Where staging directories go by default: {@code /dev/shm/warmstage}, else the temp dir. */
    public static final Path DEFAULT_ROOT = defaultRoot();

    private static final AtomicLong NAMES = new AtomicLong();
    private static final String KEPT = ".kept";
    private static final String OWNER = ".owner";

    /** Slot directories whose owner lock a device of this JVM holds. */
    private static final java.util.Set<Path> OWNED_HERE =
            java.util.concurrent.ConcurrentHashMap.newKeySet();

    private FileChannel ownerChannel;
    private FileLock ownerLock;

    private final Path dir;
    private final StagingArea area;
    private final boolean ownsDir;
    private final Set<HostBuffer> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong allocatedBytes = new AtomicLong();
    private volatile boolean closed;

    /** A cpu device with a private staging directory under {@link #DEFAULT_ROOT}. */
    public HostDevice() {
        this(privateDir(DEFAULT_ROOT), StagingArea.unbounded(DEFAULT_ROOT), true, false);
    }

    /**
     * A cpu device staging into {@code dir} (created if missing). Temp files that a dead process
     * left there are deleted; published files are left for their owner to replace or release.
     *
     * @throws UncheckedIOException if the directory cannot be created
     */
    public HostDevice(Path dir) {
        this(dir, StagingArea.unbounded(dir), false, false);
    }

    /**
     * A cpu device staging into {@code dir}, a directory inside {@code area}: its directories and
     * files take the area's mode and group, and every allocation must fit under the area's cap.
     * Temp files that a dead process left there are kept for adoption ({@link #adoptFile}) under
     * their kept names; {@link #discardKept} deletes those nobody adopts.
     *
     * @throws UncheckedIOException if the directory cannot be created
     */
    public HostDevice(Path dir, StagingArea area) {
        this(dir, area, false, true);
    }

    private HostDevice(Path dir, StagingArea area, boolean ownsDir, boolean keepTemp) {
        this.dir = dir;
        this.area = area;
        this.ownsDir = ownsDir;
        try {
            area.createDirectories(dir);
            if (keepTemp) {
                claimOwnership();
                keepTempFiles(dir);
            } else {
                deleteTempFiles(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cpu: cannot create staging directory " + dir, e);
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    /** The staging area this device's directory lies in. */
    public StagingArea area() {
        return area;
    }

    /** The directory this device stages into. */
    public Path directory() {
        return dir;
    }

    /**
     * Allocates {@code bytes} in a new anonymous staging file; contents undefined until written; 0
     * is valid.
     *
     * @throws DeviceException when the staging directory's file system has less free space than
     *     asked for, or the staging area's cap would be exceeded (the message gives the sizes), or
     *     the file cannot be created
     * @throws IllegalStateException after {@link #close()}
     */
    @Override
    public HostBuffer allocate(long bytes) throws DeviceException {
        return allocateFile("buffer-" + NAMES.incrementAndGet(), 0, bytes);
    }

    /**
     * Allocates a staging file that will hold a whole safetensors file: {@code headerBytes} (8 + N)
     * followed by {@code dataBytes} of data section. Offsets of the returned buffer address the
     * data section; {@link HostBuffer#publish} writes the header and gives the file its name.
     *
     * @param name the file's name once published (a plain file name, no separators)
     * @throws DeviceException as {@link #allocate}
     */
    @Override
    public HostBuffer allocateFile(String name, long headerBytes, long dataBytes)
            throws DeviceException {
        if (dataBytes < 0 || headerBytes < 0) {
            throw new IllegalArgumentException(
                    "negative allocation size " + headerBytes + " + " + dataBytes);
        }
        if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
        if (closed) {
            throw new IllegalStateException("cpu device is closed");
        }
        long total = Math.addExact(headerBytes, dataBytes);
        checkSpace(total);
        HostBuffer buffer =
                area.reserve(
                        total,
                        "staging file " + dir.resolve(name),
                        () ->
                                HostBuffer.create(
                                        dir.resolve(name),
                                        dir.resolve("." + name + ".tmp-" + NAMES.incrementAndGet()),
                                        headerBytes,
                                        dataBytes,
                                        area,
                                        this::released));
        open.add(buffer);
        allocatedBytes.addAndGet(dataBytes);
        return buffer;
    }

    /**
     * Closes {@code buffer} but keeps its staging file for a later device on this directory to
     * adopt ({@link #adoptFile}): after a failover, a restored slot continues a partly staged file
     * instead of fetching its bytes again.
     */
    public void keep(HostBuffer buffer, String name) {
        buffer.keep(dir.resolve(keptName(name)));
    }

    /**
     * The partly staged file {@code name} that an earlier owner kept ({@link #keep}), opened under
     * a new temp name; empty when there is none. Which of its bytes are valid is the caller's
     * record (the checkpoint).
     *
     * @throws DeviceException if a kept file exists but cannot be adopted
     */
    public java.util.Optional<HostBuffer> adoptFile(String name, long headerBytes, long dataBytes)
            throws DeviceException {
        Path kept = dir.resolve(keptName(name));
        if (!Files.isRegularFile(kept)) {
            return java.util.Optional.empty();
        }
        HostBuffer buffer =
                HostBuffer.adopt(
                        dir.resolve(name),
                        kept,
                        dir.resolve("." + name + ".tmp-" + NAMES.incrementAndGet()),
                        headerBytes,
                        dataBytes,
                        this::released);
        open.add(buffer);
        allocatedBytes.addAndGet(dataBytes);
        return java.util.Optional.of(buffer);
    }

    /**
     * The published staging file {@code name} that an earlier owner of this directory left in place
     * (a slot cut short, or a process that died), opened as a published buffer of this device;
     * empty when there is none. The caller checks its bytes before using it.
     *
     * @throws DeviceException if the file exists but has the wrong size or cannot be opened
     */
    public java.util.Optional<HostBuffer> adoptPublished(
            String name, long headerBytes, long dataBytes) throws DeviceException {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            return java.util.Optional.empty();
        }
        HostBuffer buffer = HostBuffer.openPublished(file, headerBytes, dataBytes, this::released);
        open.add(buffer);
        allocatedBytes.addAndGet(dataBytes);
        return java.util.Optional.of(buffer);
    }

    /** Deletes kept files nobody adopted, and the records of what they hold. */
    public void discardKept() {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.endsWith(KEPT) || n.endsWith(KEPT + ".json")) { // and what it holds
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            // the directory is gone
        }
    }

    /** Data bytes held by buffers of this device not yet closed (for metrics). */
    public long allocatedBytes() {
        return allocatedBytes.get();
    }

    /** Number of buffers not yet closed. */
    public int openBuffers() {
        return open.size();
    }

    /** Closes every buffer still open, deleting its file. Idempotent. */
    @Override
    public void close() {
        closed = true;
        List<HostBuffer> buffers = new ArrayList<>(open);
        buffers.forEach(HostBuffer::close);
        releaseOwnership();
        if (ownsDir) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // not empty: files of buffers handed to others stay with them
            }
        }
    }

    private void released(HostBuffer buffer) {
        if (open.remove(buffer)) {
            allocatedBytes.addAndGet(-buffer.size());
        }
    }

    private void checkSpace(long bytes) throws DeviceException {
        long free;
        try {
            free = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot read free space of " + dir + ": " + e, e);
        }
        if (bytes > free) {
            throw new DeviceException(
                    "cpu: cannot allocate "
                            + Sizes.describe(bytes)
                            + " in staging directory "
                            + dir
                            + ": "
                            + Sizes.describe(free)
                            + " free (set warmstage.staging.dir to a larger tmpfs)");
        }
    }

    /**
     * Whether a live device (of this or another process of the host) stages into {@code dir}: its
     * owner holds a lock on {@code <dir>/.owner}, which the operating system releases when the
     * process dies. A directory nobody owns holds files left by a slot that went elsewhere.
     */
    public static boolean owned(Path dir) {
        if (OWNED_HERE.contains(dir.toAbsolutePath().normalize())) {
            // Never open (and close) a second channel on a lock file this JVM holds: on Linux,
            // closing any descriptor of a file drops every POSIX lock the process holds on it,
            // so the check would release the owner's lock for every other process.
            return true;
        }
        Path lockFile = dir.resolve(OWNER);
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // held by a device of this JVM
        } catch (IOException e) {
            return true; // cannot tell: leave it
        }
    }

    private void claimOwnership() throws IOException {
        ownerChannel =
                FileChannel.open(
                        dir.resolve(OWNER), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            ownerLock = ownerChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            ownerLock = null; // an earlier device of this JVM is still closing: it owns it
        }
        if (ownerLock != null) {
            OWNED_HERE.add(dir.toAbsolutePath().normalize());
        }
    }

    private void releaseOwnership() {
        if (ownerChannel == null) {
            return;
        }
        try {
            if (ownerLock != null) {
                ownerLock.release();
                OWNED_HERE.remove(dir.toAbsolutePath().normalize());
                Files.deleteIfExists(dir.resolve(OWNER));
            }
            ownerChannel.close();
        } catch (IOException e) {
            // the lock goes with the channel
        }
        ownerChannel = null;
    }

    private static String keptName(String name) {
        return "." + name + KEPT;
    }

    /** Renames {@code .<name>.tmp-<n>} files of a dead writer to their kept names. */
    private static void keepTempFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                int tmp = n.lastIndexOf(".tmp-");
                if (n.startsWith(".") && tmp > 1) {
                    Files.move(
                            p,
                            dir.resolve(keptName(n.substring(1, tmp))),
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTempFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") && n.contains(".tmp-")) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static Path privateDir(Path root) {
        try {
            Files.createDirectories(root);
            return Files.createTempDirectory(root, "device-");
        } catch (IOException e) {
            throw new UncheckedIOException("cpu: cannot create a staging directory in " + root, e);
        }
    }

    private static Path defaultRoot() {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return shm.resolve("warmstage");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "warmstage-staging");
    }
}
