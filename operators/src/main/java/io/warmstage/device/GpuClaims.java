package io.warmstage.device;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which staging slots hold which GPU, so that two slots never stage into one GPU unless told they
 * may. A claim holds an exclusive lock ({@link FileChannel#tryLock}) on one file per GPU ordinal in
 * a lock directory ({@code java.io.tmpdir/warmstage-gpu-locks} for {@link #JVM}): the JVM checks
 * its own locks across every class loader (two jobs in one TaskManager), the OS checks them across
 * processes (two TaskManagers of one host), and releases them when a process dies. Thread-safe.
 */
public final class GpuClaims {
    /** The registry {@link Devices#openForSlot} uses: locks under {@code java.io.tmpdir}. */
    static final GpuClaims JVM =
            new GpuClaims(Path.of(System.getProperty("java.io.tmpdir"), "warmstage-gpu-locks"));

    private final Path lockDir;
    private final Map<Integer, List<Integer>> holders = new HashMap<>();

    /**
     * A registry with its lock files in {@code lockDir} (created when first needed). Registries
     * that share a directory see each other's claims.
     */
    GpuClaims(Path lockDir) {
        this.lockDir = lockDir;
    }

    /**
     * Claims the first of {@code slot}'s {@link SlotGpu#candidates} that nobody holds; when all are
     * held and the slot may share, the first candidate (without a lock).
     *
     * @param deviceCount GPUs the CUDA driver reports, 1 or more
     * @throws DeviceException if a candidate is not a GPU of this host, a lock file cannot be
     *     opened, or every candidate is held and sharing is off (the message names the GPUs, who
     *     holds them and the option to set)
     */
    public synchronized Claim claim(SlotGpu slot, int deviceCount) throws DeviceException {
        List<Integer> candidates = slot.candidates(deviceCount);
        for (int ordinal : candidates) {
            if (ordinal >= deviceCount) {
                throw new DeviceException(
                        "cannot open cuda:"
                                + ordinal
                                + " for subtask "
                                + slot.subtask()
                                + " (from "
                                + slot.source()
                                + "): this host has "
                                + deviceCount
                                + " GPU(s)");
            }
        }
        for (int ordinal : candidates) {
            FileLock lock = tryLock(ordinal);
            if (lock != null) {
                return take(ordinal, slot.subtask(), lock);
            }
        }
        int first = candidates.get(0);
        if (slot.shared()) {
            return take(first, slot.subtask(), null);
        }
        throw new DeviceException(
                "subtask "
                        + slot.subtask()
                        + " found no free GPU among cuda:"
                        + candidates
                        + " (from "
                        + slot.source()
                        + "): "
                        + describeHolders(candidates)
                        + "; give each slot its own GPU or set "
                        + GpuOptions.GPU_SHARED.key()
                        + ": true");
    }

    /**
     * Claims GPU {@code ordinal} for {@code subtask} (an explicit {@code cuda:N}).
     *
     * @throws DeviceException if another slot holds it and {@code shared} is false
     */
    public Claim claim(int ordinal, int subtask, boolean shared, int deviceCount)
            throws DeviceException {
        return claim(SlotGpu.explicit(subtask, ordinal, shared), deviceCount);
    }

    /** Subtasks of this registry holding {@code ordinal}, in claim order; empty when free. */
    public synchronized List<Integer> holders(int ordinal) {
        return List.copyOf(holders.getOrDefault(ordinal, List.of()));
    }

    /** The lock file of GPU {@code ordinal}. */
    Path lockFile(int ordinal) {
        return lockDir.resolve("cuda-" + ordinal + ".lock");
    }

    private FileLock tryLock(int ordinal) throws DeviceException {
        Path file = lockFile(ordinal);
        FileChannel channel = null;
        try {
            Files.createDirectories(lockDir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                channel.close(); // another process holds it
            }
            return lock;
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel); // this JVM holds it (any class loader)
            return null;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new DeviceException(
                    "cannot lock " + file + " to claim cuda:" + ordinal + ": " + e, e);
        }
    }

    private String describeHolders(List<Integer> ordinals) {
        List<String> out = new ArrayList<>();
        for (int ordinal : ordinals) {
            List<Integer> h = holders.get(ordinal);
            out.add(
                    "cuda:"
                            + ordinal
                            + (h == null
                                    ? " is held by another job or process on this host ("
                                            + lockFile(ordinal)
                                            + ")"
                                    : " is held by subtask(s) " + h + " of this TaskManager"));
        }
        return String.join(", ", out);
    }

    private Claim take(int ordinal, int subtask, FileLock lock) {
        holders.computeIfAbsent(ordinal, k -> new ArrayList<>()).add(subtask);
        return new Claim(ordinal, subtask, lock);
    }

    private synchronized void release(int ordinal, int subtask, FileLock lock) {
        List<Integer> h = holders.get(ordinal);
        if (h != null) {
            h.remove(Integer.valueOf(subtask));
            if (h.isEmpty()) {
                holders.remove(ordinal);
            }
        }
        if (lock != null) {
            closeQuietly(lock.channel()); // releases the lock
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // The lock goes with the channel or, at the latest, with the process.
            }
        }
    }

    /** One slot's hold on one GPU; {@link #close} releases it, once. */
    public final class Claim implements AutoCloseable {
        private final int ordinal;
        private final int subtask;
        private final FileLock lock;
        private boolean released;

        private Claim(int ordinal, int subtask, FileLock lock) {
            this.ordinal = ordinal;
            this.subtask = subtask;
            this.lock = lock;
        }

        /** The claimed GPU's CUDA ordinal. */
        public int ordinal() {
            return ordinal;
        }

        /** Releases the GPU (and its lock file) for other slots. Idempotent. */
        @Override
        public void close() {
            synchronized (GpuClaims.this) {
                if (!released) {
                    released = true;
                    release(ordinal, subtask, lock);
                }
            }
        }
    }
}
