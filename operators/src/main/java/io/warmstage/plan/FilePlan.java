package io.warmstage.plan;

import io.warmstage.format.SafetensorsHeader;
import io.warmstage.storage.ObjectVersion;
import java.util.List;

/**
 * A file the planner has stat'ed and whose header it has read and validated, or one that failed.
 * Immutable.
 *
 * @param model the model's name
 * @param modelFiles how many files the model has
 * @param uri the file
 * @param version size and version token pinned for every later read
 * @param header the validated header, or null when {@code error} is set
 * @param error null, or the one-line reason the file failed
 * @param skipTensors tensors of this file that the sharded index assigns to another shard; they are
 *     staged with the file's bytes but not reported from it
 */
public record FilePlan(
        String model,
        int modelFiles,
        String uri,
        ObjectVersion version,
        SafetensorsHeader header,
        String error,
        List<String> skipTensors) {

    /** Copies {@code skipTensors}, which must not be null. */
    public FilePlan {
        skipTensors = List.copyOf(skipTensors);
    }

    /** A planned file whose every tensor is reported. */
    public FilePlan(
            String model,
            int modelFiles,
            String uri,
            ObjectVersion version,
            SafetensorsHeader header,
            String error) {
        this(model, modelFiles, uri, version, header, error, List.of());
    }

    /**
     * A file that failed: no version or header, only the reason.
     *
     * @param error the one-line reason, naming the file and the rule broken
     */
    public static FilePlan failed(String model, int modelFiles, String uri, String error) {
        return new FilePlan(model, modelFiles, uri, null, null, error);
    }

    /** The same plan with {@code skip} as its {@link #skipTensors()}. */
    public FilePlan skipping(List<String> skip) {
        return new FilePlan(model, modelFiles, uri, version, header, error, skip);
    }

    /** Whether the file failed ({@link #error()} is set). */
    public boolean isFailure() {
        return error != null;
    }
}
