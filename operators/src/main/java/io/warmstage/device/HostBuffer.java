package io.warmstage.device;

import io.warmstage.memory.ChunkBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * A {@link DeviceBuffer} in a shared-memory staging file: offsets address the data section, which
 * starts {@code headerBytes} into the file. Writes are positional writes from the caller's buffer
 * (pooled direct buffers: the kernel copies them into the file's pages, no JVM memory is used).
 * Until {@link #publish} the file has a temp name; {@link #close()} deletes it. Not thread-safe
 * except for positional writes of disjoint ranges.
 *
 * <p>Writes from pooled buffers ({@link #copyFromHost(long, ByteBuffer, ChunkBuffer)}) are
 * asynchronous: each file has one write lane, run in order on one of the device's shared writer
 * threads, so that the files of a model are written in parallel while the staging thread goes on.
 * One lane per file, not several, because Linux serializes writes to one file on its inode lock
 * ({@code shmem_file_write_iter} takes {@code inode_lock}): two threads writing one tmpfs file are
 * no faster than one, two writing two files are. At most {@value #LANE_DEPTH} writes wait in a
 * lane; the staging thread waits for room beyond that, which bounds the pooled memory they hold.
 */
public final class HostBuffer implements DeviceBuffer, HostMapped {
    private static final ThreadLocal<ByteBuffer> SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

    /** Writes a lane holds (queued or running) before the staging thread waits for room. */
    static final int LANE_DEPTH = 4;

    /** Threads writing staging files, shared by every buffer of the JVM. */
    private static final ExecutorService WRITERS =
            Executors.newFixedThreadPool(
                    Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors())),
                    new java.util.concurrent.ThreadFactory() {
                        private final AtomicInteger n = new AtomicInteger();

                        @Override
                        public Thread newThread(Runnable r) {
                            Thread t =
                                    new Thread(
                                            r, "warmstage-staging-writer-" + n.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        }
                    });

    /** A positional write waiting in, or running on, this file's lane. */
    private record Write(long pos, ByteBuffer src, ChunkBuffer owner, long ticket) {}

    private final Object lane = new Object();
    private final ArrayDeque<Write> queued = new ArrayDeque<>(); // guarded by lane
    private boolean draining; // guarded by lane: a writer thread runs the lane
    private long issued; // guarded by lane: tickets handed out
    private long landed; // guarded by lane: every write with a ticket up to this one is done
    private DeviceException failed; // guarded by lane: the lane's first failed write

    private final Path finalPath;
    private final long headerBytes;
    private final long size;
    private final Consumer<HostBuffer> onClose;
    private Path path;
    private volatile FileChannel channel;

    private HostBuffer(
            Path finalPath,
            Path path,
            FileChannel channel,
            long headerBytes,
            long size,
            Consumer<HostBuffer> onClose) {
        this.finalPath = finalPath;
        this.path = path;
        this.channel = channel;
        this.headerBytes = headerBytes;
        this.size = size;
        this.onClose = onClose;
    }

    static HostBuffer create(
            Path finalPath,
            Path tempPath,
            long headerBytes,
            long dataBytes,
            StagingArea area,
            Consumer<HostBuffer> onClose)
            throws DeviceException {
        try {
            FileChannel ch =
                    FileChannel.open(
                            tempPath,
                            java.util.EnumSet.of(
                                    StandardOpenOption.CREATE_NEW,
                                    StandardOpenOption.READ,
                                    StandardOpenOption.WRITE),
                            area.fileAttribute());
            try {
                area.share(tempPath);
                long total = Math.addExact(headerBytes, dataBytes);
                if (area.maxBytes() != Long.MAX_VALUE && total > 0) {
                    // the whole size up front (sparse), so the area's cap counts this reservation
                    ch.write(ByteBuffer.allocate(1), total - 1);
                }
            } catch (IOException | RuntimeException e) {
                ch.close();
                Files.deleteIfExists(tempPath);
                throw e;
            }
            return new HostBuffer(finalPath, tempPath, ch, headerBytes, dataBytes, onClose);
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot create staging file " + tempPath + ": " + e, e);
        }
    }

    @Override
    public long size() {
        return size;
    }

    /** Where the file is now: its temp name, or its final name once published. */
    public Path path() {
        return path;
    }

    /** Whether {@link #publish} has given the file its final name. */
    public boolean published() {
        return path.equals(finalPath);
    }

    /**
     * Writes synchronously with positional writes; see {@link DeviceBuffer#copyFromHost}.
     *
     * @throws DeviceException when the write fails (a full tmpfs: the message names the file)
     */
    @Override
    public void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
        FileChannel ch = checkOpen();
        Ranges.check(offset, src.remaining(), size);
        try {
            writeAt(ch, headerBytes + offset, src);
        } catch (IOException e) {
            throw writeFailed(headerBytes + offset, src.remaining(), e);
        }
    }

    /**
     * Queues the write on this file's lane and returns: {@code src}'s bytes stay in {@code owner},
     * which this buffer holds a reference to until they are written. Waits while the lane holds
     * {@value #LANE_DEPTH} writes. Without an owner the write is synchronous.
     *
     * @throws DeviceException when an earlier write of this file failed, or the wait is interrupted
     */
    @Override
    public void copyFromHost(long offset, ByteBuffer src, ChunkBuffer owner)
            throws DeviceException {
        if (owner == null) {
            copyFromHost(offset, src);
            return;
        }
        checkOpen();
        Ranges.check(offset, src.remaining(), size);
        ByteBuffer view = src.slice();
        synchronized (lane) {
            try {
                while (queued.size() + (draining ? 1 : 0) >= LANE_DEPTH && failed == null) {
                    lane.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DeviceException("cpu: interrupted while waiting to write " + path, e);
            }
            if (failed != null) {
                throw new DeviceException(failed.getMessage(), failed);
            }
            owner.retain();
            queued.add(new Write(headerBytes + offset, view, owner, ++issued));
            if (!draining) {
                draining = true;
                WRITERS.execute(this::drain);
            }
        }
        src.position(src.limit());
    }

    /** Tickets of the writes issued so far; see {@link #landed(long)}. */
    @Override
    public long copiesIssued() {
        synchronized (lane) {
            return issued;
        }
    }

    /**
     * Whether every write up to {@code ticket} ({@link #copiesIssued()}) is in the file.
     *
     * @throws DeviceException if a write of this file failed
     */
    @Override
    public boolean landed(long ticket) throws DeviceException {
        synchronized (lane) {
            if (failed != null) {
                throw new DeviceException(failed.getMessage(), failed);
            }
            return landed >= ticket;
        }
    }

    /**
     * Waits until every queued write is in the file.
     *
     * @throws DeviceException if a write failed, or the wait is interrupted
     */
    @Override
    public void synchronize() throws DeviceException {
        checkOpen();
        synchronized (lane) {
            try {
                while (draining) {
                    lane.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DeviceException(
                        "cpu: interrupted while waiting for writes to " + path, e);
            }
            if (failed != null) {
                throw new DeviceException(failed.getMessage(), failed);
            }
        }
    }

    /** Runs the lane on a writer thread until it is empty. */
    private void drain() {
        while (true) {
            Write w;
            FileChannel ch;
            synchronized (lane) {
                w = queued.poll();
                if (w == null) {
                    draining = false;
                    lane.notifyAll();
                    return;
                }
                ch = failed == null ? channel : null;
            }
            // Whatever the write or the release throws, the lane's bookkeeping below must run:
            // synchronize, close and the staging thread's wait for room all depend on it.
            DeviceException error = null;
            try {
                if (ch != null) {
                    writeAt(ch, w.pos(), w.src());
                }
            } catch (IOException | RuntimeException | Error e) {
                error = writeFailed(w.pos(), w.src().remaining(), e);
            }
            try {
                w.owner().release();
            } catch (RuntimeException | Error e) {
                if (error == null) {
                    error =
                            new DeviceException(
                                    "cpu: cannot give back the buffer of a write to "
                                            + path
                                            + ": "
                                            + e,
                                    e);
                }
            }
            synchronized (lane) {
                landed = w.ticket();
                if (ch == null && failed == null) {
                    failed = new DeviceException("cpu: staging file " + path + " is closed");
                } else if (error != null && failed == null) {
                    failed = error;
                }
                lane.notifyAll();
            }
        }
    }

    /**
     * Waits for the lane to empty, for close and keep; {@code drop}: the writes not started yet are
     * dropped instead (the file is deleted).
     */
    private void quiesce(boolean drop) {
        boolean interrupted = false;
        synchronized (lane) {
            for (Write w; drop && (w = queued.poll()) != null; ) {
                w.owner().release();
            }
            while (draining) {
                try {
                    lane.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the running write ends soon: wait for it all the same
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void writeAt(FileChannel ch, long pos, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }

    private DeviceException writeFailed(long pos, int bytes, Throwable e) {
        return new DeviceException(
                "cpu: cannot write "
                        + bytes
                        + " bytes at file offset "
                        + pos
                        + " to "
                        + path
                        + ": "
                        + e,
                e);
    }

    @Override
    public void copyToHost(long offset, ByteBuffer dst) throws DeviceException {
        synchronize();
        FileChannel ch = checkOpen();
        Ranges.check(offset, dst.remaining(), size);
        readAt(ch, headerBytes + offset, dst);
    }

    /** CRC-32C read back from the file through a small reused buffer (no mapping). */
    @Override
    public int crc32c(long offset, long length) throws DeviceException {
        synchronize();
        FileChannel ch = checkOpen();
        long end = Ranges.check(offset, length, size);
        CRC32C crc = new CRC32C();
        ByteBuffer scratch = SCRATCH.get();
        for (long pos = offset; pos < end; ) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), end - pos));
            readAt(ch, headerBytes + pos, scratch);
            crc.update(scratch.flip());
            pos += scratch.limit();
        }
        return (int) crc.getValue();
    }

    /**
     * Writes the file's header bytes ({@code header.remaining()} must be the header size this
     * buffer was allocated with) and renames the file to its final name, replacing an earlier file
     * of that name. The rename is atomic: a reader sees the old file or the complete new one.
     *
     * @throws DeviceException if the write or the rename fails
     */
    @Override
    public void publish(ByteBuffer header) throws DeviceException {
        synchronize();
        FileChannel ch = checkOpen();
        if (header.remaining() != headerBytes) {
            throw new IllegalArgumentException(
                    "header of " + header.remaining() + " bytes, allocated " + headerBytes);
        }
        try {
            for (long pos = 0; header.hasRemaining(); ) {
                pos += ch.write(header, pos);
            }
            if (ch.size() != headerBytes + size) {
                throw new DeviceException(
                        "cpu: staging file "
                                + path
                                + " holds "
                                + ch.size()
                                + " bytes, expected "
                                + (headerBytes + size)
                                + ": not published");
            }
            Files.move(
                    path,
                    finalPath,
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            path = finalPath;
        } catch (IOException e) {
            throw new DeviceException(
                    "cpu: cannot publish staging file " + finalPath + ": " + e, e);
        }
    }

    /**
     * A read-only mapping of {@code [offset, offset + length)} of the data section: bytes shared
     * with the page cache, nothing copied. Stays valid after {@link #close()} until unmapped by the
     * garbage collector.
     *
     * @throws IllegalStateException if {@code length} exceeds 2 GiB - 1
     */
    public MappedByteBuffer map(long offset, long length) throws DeviceException {
        synchronize();
        FileChannel ch = checkOpen();
        Ranges.check(offset, length, size);
        if (length > Integer.MAX_VALUE) {
            throw new IllegalStateException(length + " bytes cannot be mapped as one buffer");
        }
        try {
            return ch.map(FileChannel.MapMode.READ_ONLY, headerBytes + offset, length);
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot map " + path + ": " + e, e);
        }
    }

    /**
     * Opens a staging file that an earlier owner kept ({@link #keep}), under a new temp name, for
     * staging to continue where it stopped.
     *
     * @throws DeviceException if it cannot be renamed or opened, or is larger than the file
     */
    static HostBuffer adopt(
            Path finalPath,
            Path kept,
            Path tempPath,
            long headerBytes,
            long dataBytes,
            Consumer<HostBuffer> onClose)
            throws DeviceException {
        try {
            Files.move(kept, tempPath, StandardCopyOption.ATOMIC_MOVE);
            FileChannel ch =
                    FileChannel.open(tempPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (ch.size() > Math.addExact(headerBytes, dataBytes)) {
                ch.close();
                Files.deleteIfExists(tempPath);
                throw new DeviceException(
                        "cpu: kept staging file " + kept + " is larger than its file: not adopted");
            }
            return new HostBuffer(finalPath, tempPath, ch, headerBytes, dataBytes, onClose);
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot adopt staging file " + kept + ": " + e, e);
        }
    }

    /**
     * Opens a published staging file that an earlier owner left in place, as a published buffer.
     *
     * @throws DeviceException if it cannot be opened or its size is not {@code headerBytes +
     *     dataBytes}
     */
    static HostBuffer openPublished(
            Path finalPath, long headerBytes, long dataBytes, Consumer<HostBuffer> onClose)
            throws DeviceException {
        try {
            FileChannel ch =
                    FileChannel.open(finalPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (ch.size() != Math.addExact(headerBytes, dataBytes)) {
                ch.close();
                throw new DeviceException(
                        "cpu: staging file "
                                + finalPath
                                + " holds "
                                + Files.size(finalPath)
                                + " bytes, expected "
                                + (headerBytes + dataBytes)
                                + ": not adopted");
            }
            return new HostBuffer(finalPath, finalPath, ch, headerBytes, dataBytes, onClose);
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot open staging file " + finalPath + ": " + e, e);
        }
    }

    /**
     * Closes the buffer but keeps its file for a later owner to adopt: a file not yet published is
     * renamed to {@code keptPath} (a name temp-file cleanup spares). Idempotent with {@link
     * #close()}.
     */
    void keep(Path keptPath) {
        if (channel == null) {
            return;
        }
        quiesce(false);
        FileChannel ch = channel;
        if (ch == null) {
            return;
        }
        channel = null;
        try {
            ch.close();
            if (!published()) {
                Files.move(path, keptPath, StandardCopyOption.REPLACE_EXISTING);
                path = keptPath;
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(path); // cannot be kept: free it
            } catch (IOException ignored) {
                // already gone
            }
        }
        onClose.accept(this);
    }

    /** Closes the file and deletes it. Idempotent. */
    @Override
    public void close() {
        if (channel == null) {
            return;
        }
        quiesce(true);
        FileChannel ch = channel;
        if (ch == null) {
            return;
        }
        channel = null;
        try {
            ch.close();
        } catch (IOException e) {
            // deleting below is what frees the memory
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // already gone, or the directory was removed
        }
        onClose.accept(this);
    }

    private FileChannel checkOpen() {
        FileChannel ch = channel;
        if (ch == null) {
            throw new IllegalStateException("cpu buffer of " + size + " bytes is closed");
        }
        return ch;
    }

    private void readAt(FileChannel ch, long pos, ByteBuffer dst) throws DeviceException {
        try {
            while (dst.hasRemaining()) {
                int n = ch.read(dst, pos);
                if (n < 0) {
                    dst.put(new byte[dst.remaining()]); // never written: a sparse hole
                    return;
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new DeviceException("cpu: cannot read " + path + ": " + e, e);
        }
    }
}
