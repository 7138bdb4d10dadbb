package io.warmstage.source.split;

import java.util.List;
import java.util.Objects;

/**
 * Tells a target to release the device memory of a model: the model left the manifest of a
 * refreshing job, or its new version is placed elsewhere. It carries no bytes.
 *
 * @param id unique split id
 * @param model the model to release
 * @param target the staging target key that holds it
 */
public record ReleaseSplit(String id, String model, int target) implements ChunkSplit {
    public ReleaseSplit {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(model, "model");
    }

    /** The one destination: {@link #target()}. */
    @Override
    public List<Destination> destinations() {
        return List.of(Destination.of(target));
    }
}
