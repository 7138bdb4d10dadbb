package io.warmstage.source.enumerator;

import io.warmstage.plan.ErrorDescription;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.enumerator.WeightEnumeratorState.StagedModel;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.Redaction;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enumerator's book of models: which are being planned, which are planned and wait for the
 * fleet to report, and which were distributed (with the fingerprint of the bytes and the slots they
 * went to). Distributing a model places it and hands its splits to the {@link SplitAssigner}.
 */
final class StagedModels {
    private static final Logger LOG = LoggerFactory.getLogger(StagedModels.class);

    private final SplitAssigner assigner;
    private final SplitPlanner planner;
    private final int[] targetKeys;
    // Read by the refresh check on the worker thread.
    private final Map<String, StagedModel> staged = new ConcurrentHashMap<>();
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    private final Set<String> planning = new HashSet<>();

    /** Models being planned that left the catalog meanwhile: their plans are dropped. */
    private final Set<String> dropped = new HashSet<>();

    private final Set<Warning> warned = new HashSet<>();

    private record Pending(ModelSpec model, int index, List<FilePlan> files) {}

    /** A file's failure, logged once. */
    private record Warning(String uri, String error) {}

    StagedModels(
            SplitAssigner assigner,
            SplitPlanner planner,
            int[] targetKeys,
            Map<String, StagedModel> restored) {
        this.assigner = assigner;
        this.planner = planner;
        this.targetKeys = targetKeys.clone();
        this.staged.putAll(restored);
    }

    /** What was distributed, by model name (a live view, safe to read from any thread). */
    Map<String, StagedModel> staged() {
        return staged;
    }

    /**
     * The models of {@code listed} to plan now, by their index in it, each marked as being planned:
     * those never distributed and those in {@code changed}, but none that is being planned or waits
     * to be distributed (its last plan goes out first).
     *
     * @param listed the catalog's models, in its order
     * @param changed the models whose files changed (or failed last time); empty on a first read
     */
    Map<Integer, ModelSpec> toPlan(List<ModelSpec> listed, Set<ModelSpec> changed) {
        Map<Integer, ModelSpec> out = new LinkedHashMap<>();
        for (int i = 0; i < listed.size(); i++) {
            ModelSpec model = listed.get(i);
            String name = model.name();
            dropped.remove(name); // back in the catalog: its plan in flight goes out after all
            boolean busy = planning.contains(name) || pending.containsKey(name);
            if (!busy && (!staged.containsKey(name) || changed.contains(model))) {
                planning.add(name);
                out.put(i, model);
            }
        }
        return out;
    }

    /** Takes a model's plan (files, or the error planning threw) to distribute later. */
    void planned(ModelSpec model, int index, List<FilePlan> files, Throwable error) {
        if (error != null) {
            String reason = ErrorDescription.of(error);
            files = List.of(FilePlan.failed(model.name(), 1, model.uri(), reason));
        }
        for (FilePlan f : files) {
            if (f.isFailure() && warned.add(new Warning(f.uri(), f.error()))) {
                LOG.warn(
                        "Not staging {}: {}",
                        Redaction.uri(f.uri()),
                        Redaction.text(f.error())); // once per file and reason
            }
        }
        planning.remove(model.name());
        if (!dropped.remove(model.name())) {
            pending.put(model.name(), new Pending(model, index, files));
        }
    }

    /**
     * Distributes every planned model over the fleet.
     *
     * @param hosts host name by subtask index, for every reader
     */
    void distributePending(Map<Integer, String> hosts) {
        for (Pending p : new ArrayList<>(pending.values())) {
            pending.remove(p.model().name());
            distribute(p.model(), p.index(), p.files(), hosts);
        }
    }

    /** Whether nothing waits to be distributed and every model of {@code models} was. */
    boolean allStaged(List<ModelSpec> models) {
        return pending.isEmpty() && models.stream().allMatch(m -> staged.containsKey(m.name()));
    }

    /**
     * Queues a release on every slot of each distributed model that {@code models} lacks; a model
     * it lacks that is still being planned, or waits to be distributed, is never distributed.
     */
    void releaseRemoved(List<ModelSpec> models) {
        List<String> names = models.stream().map(ModelSpec::name).toList();
        pending.keySet().retainAll(names);
        planning.stream().filter(m -> !names.contains(m)).forEach(dropped::add);
        for (String gone : new ArrayList<>(staged.keySet())) {
            if (!names.contains(gone)) {
                StagedModel s = staged.remove(gone);
                LOG.info("Refresh: releasing {} from {} slot(s)", gone, s.slots().size());
                for (int slot : s.slots()) {
                    release(gone, slot, s.generation() + 1);
                }
            }
        }
    }

    /**
     * What must stay equal for a distributed model to count as unchanged: its files' versions, its
     * placement and its expected version. Null (never equal) for a failed model.
     */
    static String fingerprint(ModelSpec model, String files) {
        return files == null
                ? null
                : files + "placement " + model.placement() + "\nversion " + model.version();
    }

    private void distribute(
            ModelSpec model, int index, List<FilePlan> files, Map<Integer, String> hosts) {
        StagedModel before = staged.get(model.name());
        int generation = before == null ? 0 : before.generation() + 1;
        List<Integer> slots = model.placement().slots(hosts, index);
        if (slots.isEmpty()) {
            String reason =
                    "placement '"
                            + model.placement()
                            + "' matches no slot (hosts: "
                            + String.join(", ", new TreeSet<>(hosts.values()))
                            + ")";
            LOG.warn("Not staging {}: {}", model.name(), Redaction.text(reason));
            int first = hosts.keySet().iterator().next();
            FilePlan failed = FilePlan.failed(model.name(), 1, model.uri(), reason);
            assigner.addSplits(first, planner.splits(failed, targetKeys[first], generation));
            staged.put(model.name(), new StagedModel(null, List.of(first), generation));
            return;
        }
        assigner.addModel(files, slots, hosts, generation);
        String fingerprint = fingerprint(model, ModelPlanner.fingerprint(files));
        staged.put(model.name(), new StagedModel(fingerprint, slots, generation));
        if (before != null) {
            // Slots that held the old version but are no longer placed let it go.
            before.slots().stream()
                    .filter(s -> !slots.contains(s))
                    .forEach(s -> release(model.name(), s, generation));
        }
    }

    private void release(String model, int slot, int generation) {
        int key = targetKeys[slot];
        String id = key + ":" + model + "#" + generation + ":release";
        assigner.addSplits(slot, List.of(new ReleaseSplit(id, model, key)));
    }
}
