package io.warmstage.source.enumerator;

import io.warmstage.source.ModelSpec;
import io.warmstage.source.split.ChunkSplit;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plans each model (off the coordinator thread), cuts its files into splits for every target, and
 * hands them out on request: reader {@code i} gets the splits of target {@code i} only, so the
 * stream stays partitioned as the staging operator's keys say.
 *
 * <p>One reader per host and file is the cache owner: it writes that file into the host's cache.
 * The enumerator learns each reader's host from {@link SplitEnumeratorContext#registeredReaders()}.
 */
public final class WeightSplitEnumerator
        implements SplitEnumerator<ChunkSplit, WeightEnumeratorState> {
    private static final Logger LOG = LoggerFactory.getLogger(WeightSplitEnumerator.class);

    private final SplitEnumeratorContext<ChunkSplit> context;
    private final List<ModelSpec> models;
    private final Function<ModelSpec, List<FilePlan>> planner;
    private final SplitPlanner splitPlanner;
    private final int[] targetKeys;
    private final boolean cacheOn;
    private final Set<String> planned = new HashSet<>();
    private final Map<Integer, Deque<ChunkSplit>> queues = new HashMap<>();
    private final Map<Integer, Integer> waiting = new HashMap<>();
    private final Set<Integer> signalled = new HashSet<>();
    private final Map<String, String> cacheOwners = new HashMap<>();

    /**
     * @param planner plans one model into files (runs on the context's worker thread)
     * @param targetKeys per subtask index, the key of its target ({@link TargetKeys})
     * @param cacheOn whether files are written into the hosts' caches
     * @param restored state from a checkpoint, or {@link WeightEnumeratorState#empty()}
     */
    public WeightSplitEnumerator(
            SplitEnumeratorContext<ChunkSplit> context,
            List<ModelSpec> models,
            Function<ModelSpec, List<FilePlan>> planner,
            SplitPlanner splitPlanner,
            int[] targetKeys,
            boolean cacheOn,
            WeightEnumeratorState restored) {
        this.context = context;
        this.models = List.copyOf(models);
        this.planner = planner;
        this.splitPlanner = splitPlanner;
        this.targetKeys = targetKeys.clone();
        this.cacheOn = cacheOn;
        this.planned.addAll(restored.plannedModels());
        restored.unassigned().forEach((s, splits) -> queue(s).addAll(splits));
    }

    @Override
    public void start() {
        for (ModelSpec model : models) {
            if (!planned.contains(model.name())) {
                context.callAsync(
                        () -> planner.apply(model), (files, err) -> onPlanned(model, files, err));
            }
        }
    }

    @Override
    public void handleSplitRequest(int subtask, String requesterHostname) {
        waiting.merge(subtask, 1, Integer::sum);
        serve(subtask);
    }

    @Override
    public void addSplitsBack(List<ChunkSplit> splits, int subtask) {
        Deque<ChunkSplit> q = queue(subtask);
        for (int i = splits.size() - 1; i >= 0; i--) {
            q.addFirst(splits.get(i));
        }
        signalled.remove(subtask);
    }

    @Override
    public void addReader(int subtask) {
        signalled.remove(subtask);
    }

    @Override
    public WeightEnumeratorState snapshotState(long checkpointId) {
        Map<Integer, List<ChunkSplit>> unassigned = new HashMap<>();
        queues.forEach((s, q) -> unassigned.put(s, new ArrayList<>(q)));
        return new WeightEnumeratorState(planned, unassigned);
    }

    @Override
    public void close() throws IOException {}

    private void onPlanned(ModelSpec model, List<FilePlan> files, Throwable error) {
        if (error != null) {
            String reason = ModelPlanner.describe(error);
            files = List.of(FilePlan.failed(model.name(), 1, model.uri(), reason));
        }
        for (FilePlan f : files) {
            if (f.isFailure()) {
                LOG.warn("Not staging {}: {}", f.uri(), f.error());
            }
        }
        for (int subtask = 0; subtask < targetKeys.length; subtask++) {
            for (FilePlan f : files) {
                queue(subtask).addAll(splitPlanner.splits(f, targetKeys[subtask]));
            }
        }
        planned.add(model.name());
        for (int subtask = 0; subtask < targetKeys.length; subtask++) {
            serve(subtask);
        }
    }

    private void serve(int subtask) {
        Deque<ChunkSplit> q = queue(subtask);
        while (waiting.getOrDefault(subtask, 0) > 0 && !q.isEmpty()) {
            context.assignSplit(withOwner(q.poll(), subtask), subtask);
            waiting.merge(subtask, -1, Integer::sum);
        }
        boolean allPlanned = models.stream().allMatch(m -> planned.contains(m.name()));
        if (q.isEmpty() && allPlanned && waiting.getOrDefault(subtask, 0) > 0) {
            if (signalled.add(subtask)) {
                context.signalNoMoreSplits(subtask);
            }
            waiting.put(subtask, 0);
        }
    }

    private ChunkSplit withOwner(ChunkSplit split, int subtask) {
        if (!cacheOn || split.isFailure()) {
            return split;
        }
        ReaderInfo reader = context.registeredReaders().get(subtask);
        String host = reader == null ? "?" : reader.getLocation();
        // One writer per host and file, even when two models share a file.
        String claim = split.model() + "\n" + subtask;
        String owner = cacheOwners.computeIfAbsent(split.uri() + "\n" + host, k -> claim);
        return split.withCacheOwner(owner.equals(claim));
    }

    private Deque<ChunkSplit> queue(int subtask) {
        return queues.computeIfAbsent(subtask, s -> new ArrayDeque<>());
    }
}
