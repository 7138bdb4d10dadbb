package io.warmstage.staging;

import io.warmstage.device.DeviceException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What a staging slot knows of its files and models: files open (being staged), files finished
 * (staged or failed: their later records are dropped), files partly staged before a restore and not
 * refilled yet, and each model's file counts. Checkpointed through {@link ProgressCodec}.
 */
final class SlotState {
    private final Map<FileKey, StagingFile> open = new HashMap<>();
    private final Set<FileKey> finished = new HashSet<>();
    // Done files restored with no ETag, under the ETag "null": see restore.
    private final Set<FileKey> doneAsNull = new HashSet<>();
    private final Map<FileKey, StagingProgress> partial = new HashMap<>();
    private final Map<String, ModelProgress> models = new HashMap<>();

    /** Whether {@code key} was staged or failed (since the last release of its model). */
    boolean finished(FileKey key) {
        return finished.contains(key) || doneAsNull.contains(key);
    }

    /** The file being staged under {@code key}, or null. */
    StagingFile open(FileKey key) {
        return open.get(key);
    }

    /** The files being staged. */
    Collection<StagingFile> openFiles() {
        return open.values();
    }

    void opened(FileKey key, StagingFile f) {
        open.put(key, f);
    }

    /** Forgets the open file {@code key} (whose memory the caller frees or keeps). */
    void closed(FileKey key) {
        open.remove(key);
    }

    /** The checkpoint's entry of {@code key} partly staged before a restore, taken; or null. */
    StagingProgress takePartial(FileKey key) {
        return partial.remove(key);
    }

    /** {@code key} is staged: no longer open. */
    void staged(FileKey key) {
        open.remove(key);
        finished.add(key);
    }

    /** {@code key} failed: returns its open file (for the caller to free), or null. */
    StagingFile failed(FileKey key) {
        finished.add(key);
        partial.remove(key);
        return open.remove(key);
    }

    /** Begins {@code model}'s file counts with {@code start} on its first file, if not begun. */
    void startModel(String model, Supplier<ModelProgress> start) {
        models.computeIfAbsent(model, m -> start.get());
    }

    /** {@code model}'s file counts; null when it is not in progress. */
    ModelProgress model(String model) {
        return models.get(model);
    }

    /** Every file of {@code model} is done: a refresh may stage a new version of it. */
    void modelDone(String model) {
        models.remove(model);
    }

    /** {@code model} was released: its files may be staged again. */
    void released(String model) {
        finished.removeIf(k -> k.model().equals(model));
        doneAsNull.removeIf(k -> k.model().equals(model));
    }

    /** Whether models or restored files remain unfinished (the job was cut short at close). */
    boolean unfinished() {
        return !models.isEmpty() || !partial.isEmpty();
    }

    /** Removes and returns the open files (the slot closes). */
    List<StagingFile> drainOpen() {
        List<StagingFile> out = new ArrayList<>(open.values());
        open.clear();
        return out;
    }

    /**
     * The checkpoint entries of {@code slot}: finished files, open files, restored partial files
     * not refilled yet, and models.
     *
     * @throws DeviceException if an open file's copies in flight fail
     */
    List<StagingProgress> snapshot(int slot) throws DeviceException {
        List<StagingProgress> out = new ArrayList<>();
        for (FileKey key : finished) {
            out.add(ProgressCodec.fileDone(slot, key));
        }
        for (StagingFile f : open.values()) {
            out.add(ProgressCodec.filePartial(slot, f));
        }
        out.addAll(partial.values()); // partly staged, not refilled yet
        models.forEach((name, m) -> out.add(ProgressCodec.model(slot, name, m)));
        return out;
    }

    /**
     * Restores the state from this slot's checkpoint entries; {@code staged} is called with each
     * file recorded as staged (to adopt its kept staging file).
     *
     * @throws IllegalStateException for an entry of an unknown kind
     */
    void restore(Iterable<StagingProgress> entries, Consumer<FileKey> staged) {
        for (StagingProgress p : entries) {
            switch (StagingProgress.Kind.of(p.kind)) {
                case FILE_DONE -> {
                    FileKey key = ProgressCodec.key(p);
                    finished.add(key);
                    if (p.etag == null) {
                        // Releases that keyed files by joined strings wrote the ETag "null" of a
                        // done file as no ETag, and found the file done under either.
                        doneAsNull.add(key.withEtag("null"));
                    }
                    staged.accept(key);
                }
                case FILE_PARTIAL -> partial.put(ProgressCodec.key(p), p);
                case MODEL -> models.put(p.model, ProgressCodec.model(p));
            }
        }
    }
}
