package io.warmstage.staging;

import io.warmstage.device.HostDevice;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes staging files nobody owns from a host's staging area: the job directories of dead jobs
 * (when a slot opens) and the slot directories of this job that no live device owns (when a slot
 * ends). Registry entries are withdrawn before their files are deleted, so no consumer finds a file
 * that is going.
 */
final class StagingSweeper {
    private static final Logger LOG = LoggerFactory.getLogger(StagingSweeper.class);

    /** A job directory holding this file was kept on purpose (keep-resident, --keep-staged). */
    static final String KEPT_MARKER = ".kept";

    private final int slot;
    private final StagedSet stagedSet;

    /**
     * @param slot the sweeping slot's index, for the log
     * @param stagedSet the host's staged set, whose entries of removed files are withdrawn
     */
    StagingSweeper(int slot, StagedSet stagedSet) {
        this.slot = slot;
        this.stagedSet = stagedSet;
    }

    /** Marks a job's staging directory as kept on purpose: no later job sweeps it. */
    static void markKept(Path jobDir) {
        try {
            Files.write(jobDir.resolve(KEPT_MARKER), new byte[0]);
        } catch (IOException e) {
            LOG.warn("cannot mark {} as kept: {}", jobDir, e.toString());
        }
    }

    /** Deletes {@code dir} if it is empty (else it holds another slot's or resident files). */
    static void deleteIfEmpty(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // not empty: another slot's files, or files kept resident
        }
    }

    /**
     * Removes the staging directories of dead jobs under {@code root}: a job directory other than
     * {@code mine} whose slots nobody owns (their processes were killed or interrupted before they
     * could clean up), not marked kept, and untouched for a minute (a job that is starting).
     */
    void sweepDeadJobs(Path root, Path mine) {
        List<Path> jobs = new ArrayList<>();
        Instant young = Instant.now().minusSeconds(60);
        try (var dirs = Files.list(root)) {
            for (var d : (Iterable<Path>) dirs::iterator) {
                if (d.equals(mine)
                        || !d.getFileName().toString().startsWith("job-")
                        || !Files.isDirectory(d)
                        || Files.exists(d.resolve(KEPT_MARKER))
                        || Files.getLastModifiedTime(d).toInstant().isAfter(young)) {
                    continue;
                }
                jobs.add(d);
            }
        } catch (IOException | UncheckedIOException e) {
            return;
        }
        jobs.forEach(this::removeDeadJob);
    }

    /**
     * Removes the slot directories beside {@code mine} (this slot's, in its job's directory) that
     * no live device owns: a slot restored on another host, or a process that died.
     */
    void sweepOrphans(Path mine) {
        List<Path> orphans = new ArrayList<>();
        try (var dirs = Files.list(mine.getParent())) {
            dirs.filter(d -> !d.equals(mine) && Files.isDirectory(d))
                    .filter(d -> !HostDevice.owned(d))
                    .forEach(orphans::add);
        } catch (IOException | UncheckedIOException e) {
            return;
        }
        orphans.forEach(this::removeSlotDir);
    }

    private void removeDeadJob(Path job) {
        List<Path> slots = new ArrayList<>();
        try (var dirs = Files.list(job)) {
            dirs.filter(Files::isDirectory).forEach(slots::add);
        } catch (IOException | UncheckedIOException e) {
            return;
        }
        if (slots.stream().anyMatch(HostDevice::owned)) {
            return; // still running somewhere on this host
        }
        slots.forEach(this::removeSlotDir);
        try (var rest = Files.list(job)) {
            for (var f : (Iterable<Path>) rest::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(job);
            LOG.info("slot {}: removed the staging files of dead job {}", slot, job);
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("slot {}: cannot remove staging directory {}: {}", slot, job, e.toString());
        }
    }

    /** Withdraws the registry entries of a slot directory's files, then deletes them. */
    private void removeSlotDir(Path d) {
        for (StagedEntry e : stagedSet.entries()) {
            if (e.file() != null && Path.of(e.file()).getParent().equals(d)) {
                stagedSet
                        .entryOf(e.uri(), e.size(), e.etag(), e.job(), e.slot(), e.device())
                        .ifPresent(StagingSweeper::withdrawQuietly);
            }
        }
        try (var files = Files.list(d)) {
            for (var f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(d);
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("slot {}: cannot remove staging directory {}: {}", slot, d, e.toString());
        }
    }

    private static void withdrawQuietly(Path entry) {
        try {
            StagedSet.withdraw(entry);
        } catch (IOException e) {
            // its file is deleted next: consumers skip an entry whose file is gone
        }
    }
}
