package io.warmstage.source;

import io.warmstage.plan.ModelSpec;
import java.io.Serializable;
import java.util.List;

/**
 * Where the source learns which models to stage: a fixed list, or a manifest that a refreshing job
 * reads again on every refresh interval. Runs on the enumerator (JobManager) side.
 */
@FunctionalInterface
public interface ModelCatalog extends Serializable {
    /**
     * The models to stage now, names unique.
     *
     * @throws Exception when the catalog cannot be read; a refreshing job then keeps the models it
     *     has and tries again on the next interval
     */
    List<ModelSpec> models() throws Exception;

    /**
     * Checks that no two models share a name or a file (URIs compared as the planner sees them).
     *
     * @throws IllegalArgumentException naming the name or URI listed twice
     */
    static void checkUnique(List<ModelSpec> models) {
        java.util.Set<String> names = new java.util.HashSet<>();
        java.util.Set<String> uris = new java.util.HashSet<>();
        for (ModelSpec m : models) {
            if (!uris.add(normalized(m.uri()))) {
                throw new IllegalArgumentException("model URI " + m.uri() + " listed twice");
            }
            if (!names.add(m.name())) {
                throw new IllegalArgumentException("model name '" + m.name() + "' used twice");
            }
        }
    }

    /** The URI as the planner will use it, so that two spellings of one file compare equal. */
    static String normalized(String uri) {
        try {
            return io.warmstage.storage.ObjectStores.toUri(uri)
                    .normalize()
                    .toString()
                    .replaceFirst("^file:/+", "file:///");
        } catch (IllegalArgumentException e) {
            return uri; // the planner reports it as that model's failure
        }
    }

    /** A catalog that always lists {@code models}. */
    static ModelCatalog of(List<ModelSpec> models) {
        List<ModelSpec> fixed = List.copyOf(models);
        return () -> fixed;
    }
}
