package io.warmstage.staging;

import io.warmstage.source.ChunkRecord;

/**
 * Follows each model on a staging slot: begins its file counts on its first record, reports it once
 * all of its files are staged or failed, and frees its device memory when it is released.
 */
final class ModelTracker {
    private final SlotState state;
    private final SlotEvents events;
    private final StagingMetrics metrics;
    private final SlotResidents residents;

    ModelTracker(
            SlotState state, SlotEvents events, StagingMetrics metrics, SlotResidents residents) {
        this.state = state;
        this.events = events;
        this.metrics = metrics;
        this.residents = residents;
    }

    /**
     * A record of {@code r.model} arrived: a new round of the model begins if none is under way.
     */
    void recordArrived(ChunkRecord r) {
        state.startModel(
                r.model,
                () -> {
                    metrics.modelStarted(r.model, r.modelBytes);
                    return new ModelProgress(r.modelFiles, System.currentTimeMillis());
                });
    }

    /**
     * A file of {@code model} is done: staged with {@code fileBytes} bytes, or failed for {@code
     * reason}; the model event goes out when it was the model's last file.
     */
    void fileDone(String model, long fileBytes, boolean failed, String reason, SlotOutput out) {
        ModelProgress p = state.model(model);
        p.fileDone(fileBytes, failed, reason);
        if (p.done()) {
            state.modelDone(model); // a refresh may stage a new version of it
            out.emit(events.modelDone(model, p));
        }
    }

    /** Frees {@code model}'s device memory on this slot (it left a refreshing job's manifest). */
    void release(String model, SlotOutput out) {
        long freed = residents.release(model);
        metrics.modelReleased(model);
        state.released(model);
        out.emit(events.released(model, freed));
    }
}
