package io.warmstage.source.split;

import io.warmstage.storage.Redaction;
import java.util.List;
import java.util.Objects;

/**
 * A file that could not be planned: its target reports the failure instead of staging bytes.
 *
 * @param id unique split id
 * @param model the model's name
 * @param modelFiles how many files the model has
 * @param uri the file that failed
 * @param error the one-line reason
 * @param target the staging target key that reports it
 * @param modelBytes bytes of the model's files that did plan (0 when unknown)
 */
public record FailureSplit(
        String id,
        String model,
        int modelFiles,
        String uri,
        String error,
        int target,
        long modelBytes)
        implements ChunkSplit {
    public FailureSplit {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(error, "error");
    }

    /** The one destination: {@link #target()}, which writes no cache. */
    @Override
    public List<Destination> destinations() {
        return List.of(Destination.of(target));
    }

    /** The same split, telling staging that its model has {@code bytes} bytes in all its files. */
    public FailureSplit withModelBytes(long bytes) {
        return new FailureSplit(id, model, modelFiles, uri, error, target, bytes);
    }

    @Override
    public String toString() {
        return Redaction.text("FailureSplit{" + id + " " + uri + " failed: " + error + "}");
    }
}
