package io.warmstage.source.enumerator;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Keys of staging targets chosen so that Flink's key-group math sends key {@code keyFor(i)} to
 * subtask {@code i}. The source can then be reinterpreted as keyed by target without a shuffle:
 * reader {@code i} only emits records for the target that staging subtask {@code i} owns.
 */
public final class TargetKeys {
    private TargetKeys() {}

    /**
     * The smallest non-negative int key that {@link
     * KeyGroupRangeAssignment#assignKeyToParallelOperator} maps to {@code subtask}.
     *
     * @param subtask 0-based subtask index, below {@code parallelism}
     * @param parallelism the staging operator's parallelism
     * @param maxParallelism the job's max parallelism (number of key groups)
     */
    public static int keyFor(int subtask, int parallelism, int maxParallelism) {
        if (subtask < 0 || subtask >= parallelism || parallelism > maxParallelism) {
            throw new IllegalArgumentException(
                    "subtask " + subtask + " of " + parallelism + " (max " + maxParallelism + ")");
        }
        for (int key = 0; key < Integer.MAX_VALUE; key++) {
            if (KeyGroupRangeAssignment.assignKeyToParallelOperator(
                            key, maxParallelism, parallelism)
                    == subtask) {
                return key;
            }
        }
        throw new IllegalStateException("no key maps to subtask " + subtask);
    }

    /** {@link #keyFor} for every subtask, indexed by subtask. */
    public static int[] keys(int parallelism, int maxParallelism) {
        int[] keys = new int[parallelism];
        for (int i = 0; i < parallelism; i++) {
            keys[i] = keyFor(i, parallelism, maxParallelism);
        }
        return keys;
    }
}
