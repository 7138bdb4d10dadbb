package io.warmstage.source;

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

    /** A catalog that always lists {@code models}. */
    static ModelCatalog of(List<ModelSpec> models) {
        List<ModelSpec> fixed = List.copyOf(models);
        return () -> fixed;
    }
}
