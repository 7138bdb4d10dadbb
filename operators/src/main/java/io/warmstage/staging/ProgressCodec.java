package io.warmstage.staging;

import io.warmstage.device.DeviceException;
import java.util.BitSet;

/**
 * Converts a slot's staging state to and from its checkpointed form, {@link StagingProgress} (union
 * list state {@code staging-progress}): one entry per file staged, per file partly staged and per
 * model in progress. The entries' fields are the ones every release wrote.
 */
final class ProgressCodec {
    private ProgressCodec() {}

    /** The entry of a file staged completely on {@code slot}. */
    static StagingProgress fileDone(int slot, FileKey key) {
        return file(StagingProgress.Kind.FILE_DONE, slot, key);
    }

    /**
     * The entry of a file partly staged on {@code slot}: the ranges in its staging file (copies
     * still queued are waited for, so that a process that dies after the checkpoint leaves the file
     * for the restored slot to adopt), and the tensors whose events were sent, with their CRC-32C.
     *
     * @throws DeviceException if the copies in flight fail
     */
    static StagingProgress filePartial(int slot, StagingFile f) throws DeviceException {
        StagingProgress p =
                file(
                        StagingProgress.Kind.FILE_PARTIAL,
                        slot,
                        FileKey.of(f.model, f.uri, f.fileSize, f.version.etag()));
        f.data.synchronize();
        p.ranges = f.ranges();
        BitSet reported = f.reportedSet();
        reported.andNot(f.awaitingSet()); // not sent yet: reported again after a restore
        reported.andNot(f.heldSet()); // held for the pin check: not sent either
        p.reported = reported.toLongArray();
        p.crcs = f.reportedCrcs();
        p.skip = f.skipped().toArray(new String[0]);
        return p;
    }

    /** The entry of a model's file counts on {@code slot}. */
    static StagingProgress model(int slot, String name, ModelProgress m) {
        StagingProgress p = StagingProgress.of(StagingProgress.Kind.MODEL, slot, name);
        p.modelFiles = m.expected;
        p.staged = m.staged;
        p.failed = m.failed;
        p.bytes = m.bytes;
        p.reason = m.reason;
        p.startMillis = m.startMillis;
        return p;
    }

    /** The file a file entry names. */
    static FileKey key(StagingProgress p) {
        return FileKey.of(p.model, p.uri, p.fileSize, p.etag);
    }

    /** The file counts a model entry holds. */
    static ModelProgress model(StagingProgress p) {
        ModelProgress m = new ModelProgress(p.modelFiles, p.startMillis);
        m.staged = p.staged;
        m.failed = p.failed;
        m.bytes = p.bytes;
        m.reason = p.reason;
        return m;
    }

    /**
     * Before any byte of {@code f} arrives after a restore: the tensors a partial entry says were
     * reported, with their CRC-32C, so that they are not reported again and are checked when the
     * file completes.
     */
    static void restoreReported(StagingFile f, StagingProgress p) {
        f.restoreReported(BitSet.valueOf(p.reported == null ? new long[0] : p.reported));
        f.restoreCrcs(p.crcs);
    }

    private static StagingProgress file(StagingProgress.Kind kind, int slot, FileKey key) {
        StagingProgress p = StagingProgress.of(kind, slot, key.model());
        p.uri = key.uri();
        p.fileSize = key.file().size();
        p.etag = key.file().version().etag();
        return p;
    }
}
