package io.warmstage.source.enumerator;

import io.warmstage.source.split.ChunkSplit;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the enumerator checkpoints: the models already planned and, per subtask, the splits not yet
 * assigned. Models not planned yet are planned again after a restore.
 *
 * @param plannedModels names of models whose splits exist
 * @param unassigned per subtask index, splits not yet handed to its reader, in order
 */
public record WeightEnumeratorState(
        Set<String> plannedModels, Map<Integer, List<ChunkSplit>> unassigned) {
    public WeightEnumeratorState {
        plannedModels = Set.copyOf(plannedModels);
        unassigned = Map.copyOf(unassigned);
    }

    /** The state before anything was planned. */
    public static WeightEnumeratorState empty() {
        return new WeightEnumeratorState(Set.of(), Map.of());
    }
}
