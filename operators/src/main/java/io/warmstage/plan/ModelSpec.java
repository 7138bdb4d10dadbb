package io.warmstage.plan;

import io.warmstage.storage.Redaction;
import java.io.Serializable;
import java.util.Objects;

/**
 * One model to stage.
 *
 * @param name the model's name in reports (defaults to the URI without credentials)
 * @param uri a single {@code .safetensors} file or a sharded checkpoint's {@code
 *     model.safetensors.index.json}, on file://, http(s)://, s3:// or gs://
 * @param placement which slots hold it (default: every slot)
 * @param version the version token every file of the model must have (ETag, GCS generation, or for
 *     file:// the modification time in nanoseconds), or null for any
 */
public record ModelSpec(String name, String uri, Placement placement, String version)
        implements Serializable {
    /**
     * @throws NullPointerException if {@code uri} is null
     */
    public ModelSpec {
        Objects.requireNonNull(uri, "uri");
        if (name == null || name.isBlank()) {
            name = Redaction.uri(uri); // names are shown: reports, logs, metric groups
        }
        if (placement == null) {
            placement = Placement.ALL;
        }
    }

    /** A model held by every slot. */
    public ModelSpec(String name, String uri) {
        this(name, uri, Placement.ALL, null);
    }

    /** A model held by the slots {@code placement} picks, any version. */
    public ModelSpec(String name, String uri, Placement placement) {
        this(name, uri, placement, null);
    }

    /** True if the URI names a sharded checkpoint's index. */
    public boolean isIndex() {
        return uri.endsWith(".index.json");
    }
}
