package io.warmstage.source.enumerator;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelSpec;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The book of a refreshing job's models: what is planned, distributed and released. */
class StagedModelsTest {
    private static final int[] KEYS = {0, 1};
    private static final Map<Integer, String> HOSTS = Map.of(0, "h0", 1, "h0");
    private static final ModelSpec A = new ModelSpec("a", "file:///nowhere/a.safetensors");
    private static final ModelSpec B = new ModelSpec("b", "file:///nowhere/b.safetensors");

    private final SplitAssigner assigner =
            new SplitAssigner(KEYS, FetchMode.PER_TARGET, false, false, new SplitPlanner(1 << 20));
    private final StagedModels models =
            new StagedModels(assigner, new SplitPlanner(1 << 20), KEYS, Map.of());

    private static List<FilePlan> plan(ModelSpec m) {
        return List.of(FilePlan.failed(m.name(), 1, m.uri(), "unreadable"));
    }

    private int queuedSplits() {
        return assigner.remainingSplits().values().stream().mapToInt(List::size).sum();
    }

    @Test
    void aModelRemovedWhileItIsPlannedIsNeverDistributed() {
        assertThat(models.toPlan(List.of(A, B), Set.of())).containsOnlyKeys(0, 1);
        models.releaseRemoved(List.of(B)); // a refresh: "a" left the catalog mid-plan
        models.planned(A, 0, plan(A), null);
        models.planned(B, 1, plan(B), null);
        models.distributePending(HOSTS);

        assertThat(models.staged()).containsOnlyKeys("b");
        assertThat(queuedSplits()).isEqualTo(2); // b's failure split, once per slot
        assertThat(models.toPlan(List.of(B), Set.of())).isEmpty();
    }

    @Test
    void aModelRemovedWhileItWaitsToBeDistributedIsNeverDistributed() {
        models.toPlan(List.of(A), Set.of());
        models.planned(A, 0, plan(A), null); // waits for the fleet's hosts
        models.releaseRemoved(List.of());
        models.distributePending(HOSTS);

        assertThat(models.staged()).isEmpty();
        assertThat(queuedSplits()).isZero();
        assertThat(models.allStaged(List.of())).isTrue();
    }

    @Test
    void aModelRemovedAndAddedBackWhileItIsPlannedIsDistributedOnce() {
        models.toPlan(List.of(A), Set.of());
        models.releaseRemoved(List.of());
        assertThat(models.toPlan(List.of(A), Set.of())).isEmpty(); // still busy: not planned twice
        models.planned(A, 0, plan(A), null);
        models.distributePending(HOSTS);

        assertThat(models.staged()).containsOnlyKeys("a");
        assertThat(queuedSplits()).isEqualTo(2);
    }
}
