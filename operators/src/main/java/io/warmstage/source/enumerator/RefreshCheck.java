package io.warmstage.source.enumerator;

import io.warmstage.plan.ErrorDescription;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.source.enumerator.WeightEnumeratorState.StagedModel;
import io.warmstage.storage.Redaction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The refresh poll of an unbounded source, run on the enumerator's worker thread every interval:
 * reads the catalog again and stats each distributed model's files (no header read) to find the
 * models whose bytes, placement or expected version changed.
 */
final class RefreshCheck {
    private static final Logger LOG = LoggerFactory.getLogger(RefreshCheck.class);

    private final ModelCatalog catalog;
    private final ModelPlanner planner;
    private final Map<String, StagedModel> staged;
    private String lastRefusal;

    /**
     * What one poll found.
     *
     * @param listed the models the catalog lists now, in its order
     * @param changed those of them that were distributed and changed since (or failed then)
     */
    record Changes(List<ModelSpec> listed, List<ModelSpec> changed) {}

    /**
     * @param staged what was distributed (a live view, read from the worker thread)
     */
    RefreshCheck(ModelCatalog catalog, ModelPlanner planner, Map<String, StagedModel> staged) {
        this.catalog = catalog;
        this.planner = planner;
        this.staged = staged;
    }

    /**
     * Runs on the worker thread: the listed models and which of them changed.
     *
     * @throws Exception if the catalog cannot be read or lists a name or file twice
     */
    Changes poll() throws Exception {
        List<ModelSpec> listed = catalog.models();
        ModelCatalog.checkUnique(listed);
        List<ModelSpec> changed = new ArrayList<>();
        for (ModelSpec m : listed) {
            StagedModel s = staged.get(m.name());
            if (s == null) {
                continue; // new: planned by the enumerator
            }
            try {
                String now = StagedModels.fingerprint(m, planner.fingerprint(m));
                if (!now.equals(s.fingerprint())) {
                    changed.add(m);
                }
            } catch (Exception e) {
                LOG.warn(
                        "Refresh: cannot check {}: {}",
                        m.name(),
                        Redaction.text(ErrorDescription.of(e)));
            }
        }
        return new Changes(listed, changed);
    }

    /**
     * Logs a failed poll once per distinct problem, not every interval.
     *
     * @param error what {@link #poll()} threw, or null when it succeeded
     * @return whether the poll succeeded
     */
    boolean succeeded(Throwable error) {
        if (error == null) {
            lastRefusal = null;
            return true;
        }
        String why = ErrorDescription.of(error);
        if (!why.equals(lastRefusal)) {
            LOG.warn(
                    "Refresh: keeping the models staged; cannot take the models to stage: {}", why);
            lastRefusal = why;
        }
        return false;
    }
}
