package io.warmstage.source.enumerator;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.source.fleet.ReaderHostEvent;
import io.warmstage.source.split.ChunkSplit;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plans each model (off the coordinator thread), cuts its files into splits, and hands them out on
 * request. Every reader first reports its host ({@link ReaderHostEvent}); no split is cut before
 * the whole fleet has reported. Then, per model, the {@linkplain ModelSpec#placement() placement}
 * picks the slots that hold it and the {@link FetchMode} decides who fetches each byte range.
 *
 * <p>This class is the shell: the {@link SplitAssigner} decides which reader gets which split,
 * {@link StagedModels} keeps the book of planned and distributed models, and {@link RefreshCheck}
 * polls the catalog of a refreshing job. With a refresh interval the source is unbounded: every
 * interval the catalog is read again, each model's files are stat'ed (no header read), and only a
 * model whose files changed is planned and distributed again; a model that left the catalog gets a
 * release split on each slot that held it.
 */
public final class WeightSplitEnumerator
        implements SplitEnumerator<ChunkSplit, WeightEnumeratorState> {
    private static final Logger LOG = LoggerFactory.getLogger(WeightSplitEnumerator.class);

    private final SplitEnumeratorContext<ChunkSplit> context;
    private final ModelCatalog catalog;
    private final Function<ModelSpec, List<FilePlan>> plan;
    private final int readers;
    private final Duration refresh;
    private final SplitAssigner assigner;
    private final StagedModels models;
    private final RefreshCheck refreshCheck;
    private final Map<Integer, String> hosts = new TreeMap<>();
    private final Map<Integer, Integer> requests = new HashMap<>();
    private final Set<Integer> signalled = new HashSet<>();
    private List<ModelSpec> listed = List.of();
    private boolean catalogRead;

    /**
     * @param catalog the models (read once, or on every refresh)
     * @param planner plans models and fingerprints them
     * @param plan plans one model into files (runs on the context's worker thread); usually {@code
     *     planner::plan}
     * @param splitPlanner cuts planned files into splits
     * @param targetKeys per subtask index, the key of its target ({@link TargetKeys})
     * @param cacheOn whether files are written into the hosts' caches
     * @param mode who fetches each range
     * @param hostRelay in fan-out, send a split once to each host's lead slot, which relays it to
     *     the host's other placed slots ({@link SplitAssigner}); else once to each placed slot
     * @param refresh the refresh interval, or null for a bounded run
     * @param restored state from a checkpoint, or {@link WeightEnumeratorState#empty()}
     */
    public WeightSplitEnumerator(
            SplitEnumeratorContext<ChunkSplit> context,
            ModelCatalog catalog,
            ModelPlanner planner,
            Function<ModelSpec, List<FilePlan>> plan,
            SplitPlanner splitPlanner,
            int[] targetKeys,
            boolean cacheOn,
            FetchMode mode,
            boolean hostRelay,
            Duration refresh,
            WeightEnumeratorState restored) {
        this.context = context;
        this.catalog = catalog;
        this.plan = plan;
        this.readers = targetKeys.length;
        this.refresh = refresh;
        this.assigner = new SplitAssigner(targetKeys, mode, cacheOn, hostRelay, splitPlanner);
        this.models = new StagedModels(assigner, splitPlanner, targetKeys, restored.staged());
        this.refreshCheck = new RefreshCheck(catalog, planner, models.staged());
        restored.unassigned().forEach(assigner::addSplits);
    }

    @Override
    public void start() {
        context.callAsync(catalog::models, this::onCatalog);
        if (refresh != null) {
            long ms = Math.max(1, refresh.toMillis());
            context.callAsync(refreshCheck::poll, this::onRefresh, ms, ms);
        }
    }

    @Override
    public void handleSplitRequest(int subtask, String requesterHostname) {
        requests.merge(subtask, 1, Integer::sum);
        serve(subtask);
    }

    @Override
    public void handleSourceEvent(int subtask, SourceEvent event) {
        if (event instanceof ReaderHostEvent h) {
            hosts.put(subtask, h.host());
            distributePending();
        }
    }

    @Override
    public void addSplitsBack(List<ChunkSplit> splits, int subtask) {
        assigner.addSplitsBack(subtask, splits);
        signalled.remove(subtask);
    }

    @Override
    public void addReader(int subtask) {
        signalled.remove(subtask);
    }

    @Override
    public WeightEnumeratorState snapshotState(long checkpointId) {
        return new WeightEnumeratorState(models.staged(), assigner.remainingSplits());
    }

    @Override
    public void close() {}

    private void onCatalog(List<ModelSpec> found, Throwable error) {
        if (error == null) {
            try {
                ModelCatalog.checkUnique(found);
            } catch (IllegalArgumentException e) {
                error = e;
            }
        }
        if (error != null) {
            throw new IllegalStateException("cannot read the models to stage", error);
        }
        catalogRead = true;
        planAll(found, Set.of(), false);
    }

    private void onRefresh(RefreshCheck.Changes changes, Throwable error) {
        if (refreshCheck.succeeded(error)) {
            planAll(changes.listed(), Set.copyOf(changes.changed()), true);
        }
    }

    /** Plans the new and changed models of the catalog, releases removed ones, serves readers. */
    private void planAll(List<ModelSpec> found, Set<ModelSpec> changed, boolean refreshing) {
        listed = List.copyOf(found);
        models.toPlan(listed, changed)
                .forEach(
                        (index, model) -> {
                            if (refreshing) {
                                LOG.info(
                                        "Refresh: staging {} ({})",
                                        model.name(),
                                        models.staged().containsKey(model.name())
                                                ? "changed, or failed last time"
                                                : "new");
                            }
                            plan(model, index);
                        });
        releaseRemoved();
        serveAll();
    }

    /** Plans {@code model} (at {@code index} in the catalog) on the worker thread. */
    private void plan(ModelSpec model, int index) {
        context.callAsync(
                () -> plan.apply(model),
                (files, error) -> {
                    models.planned(model, index, files, error);
                    distributePending();
                });
    }

    /** Cuts and queues the planned models once every reader has said where it runs. */
    private void distributePending() {
        if (hosts.size() < readers) {
            return;
        }
        models.distributePending(hosts);
        serveAll();
    }

    private void releaseRemoved() {
        if (refresh != null) {
            models.releaseRemoved(listed);
        }
    }

    private void serveAll() {
        for (int subtask = 0; subtask < readers; subtask++) {
            serve(subtask);
        }
    }

    /**
     * Hands {@code subtask} a split per open request; a bounded run then says there are no more.
     */
    private void serve(int subtask) {
        while (requests.getOrDefault(subtask, 0) > 0) {
            Optional<ChunkSplit> next = assigner.getNext(subtask);
            if (next.isEmpty()) {
                break;
            }
            context.assignSplit(next.get(), subtask);
            requests.merge(subtask, -1, Integer::sum);
        }
        if (refresh != null || requests.getOrDefault(subtask, 0) == 0) {
            return; // unbounded: more splits may come on a later refresh
        }
        if (catalogRead && assigner.isEmpty(subtask) && models.allStaged(listed)) {
            if (signalled.add(subtask)) {
                context.signalNoMoreSplits(subtask);
            }
            requests.put(subtask, 0);
        }
    }
}
