package io.warmstage.staging;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.DeviceLostException;
import io.warmstage.device.HostBuffer;
import io.warmstage.plan.ErrorDescription;
import io.warmstage.source.ChunkRecord;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stages a slot's records: opens a file's device memory on its first record (adopting a kept
 * staging file or refilling what a restore lost), copies each chunk, and once a file is complete
 * checks its pin, publishes it, commits its cache entry and reports it; fails a bad file alone; and
 * reports a model once all of its files are done on the slot.
 */
final class FileStager {
    private static final Logger LOG = LoggerFactory.getLogger(FileStager.class);

    private final SlotEnvironment env;
    private final SlotState state;
    private final SlotEvents events;
    private final StagingMetrics metrics;
    private final LandingReporter reporter;
    private final CacheFeed cache;
    private final Refiller refiller;
    private final Adoption adoption;
    private final SlotResidents residents;
    private final StagedSetPublisher publisher;
    private final ModelTracker models;

    FileStager(
            SlotEnvironment env,
            SlotState state,
            SlotEvents events,
            StagingMetrics metrics,
            LandingReporter reporter,
            CacheFeed cache,
            Refiller refiller,
            Adoption adoption,
            SlotResidents residents) {
        this.env = env;
        this.state = state;
        this.events = events;
        this.metrics = metrics;
        this.reporter = reporter;
        this.cache = cache;
        this.refiller = refiller;
        this.residents = residents;
        this.adoption = adoption;
        this.publisher = new StagedSetPublisher(env);
        this.models = new ModelTracker(state, events, metrics, residents);
    }

    /**
     * Stages one record: a release frees its model's memory, a failure fails its file, and a chunk
     * is copied to its file's memory.
     *
     * @throws DeviceLostException if the device's context is unusable (the task fails over)
     */
    void process(ChunkRecord r, SlotOutput out) throws Exception {
        if (r.release) {
            models.release(r.model, out);
            return;
        }
        reporter.reportLanded(state.openFiles(), out); // other files' tensors landed since
        FileKey key = FileKey.of(r);
        if (state.finished(key)) {
            return;
        }
        models.recordArrived(r);
        if (r.isFailure()) {
            fail(key, r.error, out);
            return;
        }
        try {
            StagingFile f = state.open(key);
            if (f == null && (f = open(key, r, out)).complete()) {
                return; // the refill brought the last bytes
            }
            try {
                stage(f, r, out);
            } catch (CachedCopyMismatch m) {
                refetch(f, r, key, m, out);
            }
        } catch (DeviceLostException e) {
            throw e; // the device's context is unusable: fail the task, restart on a fresh one
        } catch (Exception e) {
            fail(key, ErrorDescription.of(e), out);
        }
    }

    /**
     * Opens the file of {@code r}'s first record here. With a checkpoint entry of it partly staged,
     * its kept staging file is adopted (with the cache on, a kept file's bytes may come from a
     * cached copy whose unfinished tensors were not checked yet: it is not adopted) and the ranges
     * not in it are read again.
     */
    private StagingFile open(FileKey key, ChunkRecord r, SlotOutput out) throws Exception {
        String name = KeptFiles.stagingName(key.file());
        long dataSize = r.fileSize - r.headerEnd;
        StagingProgress before = state.takePartial(key);
        Optional<HostBuffer> kept =
                before != null && !cache.on()
                        ? adoption.adoptPartial(name, r.headerEnd, dataSize)
                        : Optional.empty();
        DeviceBuffer data =
                kept.isPresent()
                        ? kept.get()
                        : env.device.allocateFile(name, r.headerEnd, dataSize);
        StagingFile f = new StagingFile(r, data);
        state.opened(key, f);
        if (before != null) {
            ProgressCodec.restoreReported(f, before);
            long[] ranges =
                    kept.isPresent() ? adoption.adoptDataRanges(f, before.ranges) : before.ranges;
            refiller.refill(f, ranges, before.skip, r, (g, c) -> stage(g, c, out));
        }
        return f;
    }

    private void stage(StagingFile f, ChunkRecord r, SlotOutput out) throws Exception {
        var done = f.accept(r);
        metrics.chunkStaged(r);
        cache.write(f, r, out);
        f.awaitLanding(done);
        if (f.complete()) {
            finish(f, out);
        } else {
            reporter.staged(f, out);
        }
    }

    private void finish(StagingFile f, SlotOutput out) throws DeviceException {
        reporter.report(f, true, out);
        FileKey key = FileKey.of(f.model, f.uri, f.fileSize, f.version.etag());
        String wrong = reporter.pinMismatch(f);
        if (wrong != null) {
            fail(key, wrong, out); // never published: the temp file goes
            return;
        }
        f.publish();
        reporter.sendHeld(f, out);
        java.nio.file.Path entry = publisher.publish(f);
        state.staged(key);
        cache.commit(f, out);
        boolean hit = cache.fromCache(f);
        out.emit(
                events.fileStaged(
                        f.model, f.uri, f.fileSize, f.reportedTensors(), cache.label(hit)));
        metrics.fileStaged(hit);
        residents.add(new ResidentSet.Entry(env.slot, f.model, f.uri, f.header(), f.data, entry));
        models.fileDone(f.model, f.fileSize, false, null, out);
    }

    private void fail(FileKey key, String reason, SlotOutput out) {
        StagingFile f = state.failed(key);
        if (f != null) {
            f.data.close();
            cache.abort(f, reason, out);
        }
        metrics.fileFailed();
        out.emit(events.fileFailed(key.model(), key.uri(), reason, cache.failed()));
        models.fileDone(key.model(), 0, true, reason, out);
    }

    /**
     * Stages {@code f} again, from the origin, after a cached copy it was staged from did not match
     * its cache entry: removes this host's copy, drops the cache write of {@code f} if this slot
     * made one, frees {@code f}'s memory, and reads the whole file from the origin (pinned to the
     * same version) into new memory. Tensors reported before the mismatch matched the entry and are
     * not reported again; the copy's records still to come find the file finished.
     */
    private void refetch(
            StagingFile f, ChunkRecord r, FileKey key, CachedCopyMismatch m, SlotOutput out)
            throws Exception {
        LOG.warn("slot {}: {}: fetching it again from the origin", env.slot, m.getMessage());
        metrics.cachedCopyRejected();
        cache.reject(f, m, out);
        String[] skip = f.skipped().toArray(new String[0]);
        f.data.close();
        state.closed(key);
        long dataSize = r.fileSize - r.headerEnd;
        StagingFile g =
                f.restart(
                        r,
                        env.device.allocateFile(
                                KeptFiles.stagingName(key.file()), r.headerEnd, dataSize));
        state.opened(key, g);
        refiller.refetch(g, skip, r, (h, c) -> stage(h, c, out));
    }
}
