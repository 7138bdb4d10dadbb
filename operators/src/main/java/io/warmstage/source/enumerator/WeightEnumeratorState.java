package io.warmstage.source.enumerator;

import io.warmstage.plan.ModelPlanner;
import io.warmstage.source.split.ChunkSplit;
import java.util.List;
import java.util.Map;

/**
 * What the enumerator checkpoints: the models whose splits exist (with the fingerprint of the bytes
 * they were cut from and the slots they went to) and, per subtask, the splits not yet assigned.
 * Models not distributed yet are planned again after a restore.
 *
 * @param staged per model name, what was distributed
 * @param unassigned per subtask index, splits not yet handed to its reader, in order
 */
public record WeightEnumeratorState(
        Map<String, StagedModel> staged, Map<Integer, List<ChunkSplit>> unassigned) {
    public WeightEnumeratorState {
        staged = Map.copyOf(staged);
        unassigned = Map.copyOf(unassigned);
    }

    /**
     * One distributed model.
     *
     * @param fingerprint {@link ModelPlanner#fingerprint} of the bytes the splits were cut from, or
     *     null when the model failed (a refresh plans it again)
     * @param slots subtask indexes that hold the model
     * @param generation how many times the model was distributed (split ids include it)
     */
    public record StagedModel(String fingerprint, List<Integer> slots, int generation) {
        public StagedModel {
            slots = List.copyOf(slots);
        }
    }

    /** The state before anything was planned. */
    public static WeightEnumeratorState empty() {
        return new WeightEnumeratorState(Map.of(), Map.of());
    }
}
