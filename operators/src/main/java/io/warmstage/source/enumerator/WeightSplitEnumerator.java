package io.warmstage.source.enumerator;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.source.enumerator.WeightEnumeratorState.StagedModel;
import io.warmstage.source.fleet.ReaderHostEvent;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plans each model (off the coordinator thread), cuts its files into splits, and hands them out on
 * request.
 *
 * <p>Every reader first reports its host ({@link ReaderHostEvent}); no split is cut before the
 * whole fleet has reported. Then, per model, the {@linkplain ModelSpec#placement() placement} picks
 * the slots that hold it and the {@link FetchMode} decides who fetches each byte range:
 *
 * <ul>
 *   <li>per-target: reader {@code i} fetches every range for slot {@code i} (the stream stays
 *       partitioned as the staging operator's keys say);
 *   <li>per-host: one reader of each host fetches each range (the host's readers take turns) for
 *       all of that host's placed slots;
 *   <li>fan-out: one reader of the fleet fetches each range (all readers take turns) for every
 *       placed slot.
 * </ul>
 *
 * <p>With the cache on, every destination may write the file into its host's cache; the staging
 * slots of a host let only the first of them write it.
 *
 * <p>With a refresh interval the source is unbounded: every interval the catalog is read again,
 * each model's files are stat'ed (no header read), and only a model whose files changed is planned
 * and distributed again; a model that left the catalog gets a release split on each slot that held
 * it.
 */
public final class WeightSplitEnumerator
        implements SplitEnumerator<ChunkSplit, WeightEnumeratorState> {
    private static final Logger LOG = LoggerFactory.getLogger(WeightSplitEnumerator.class);

    private final SplitEnumeratorContext<ChunkSplit> context;
    private final ModelCatalog catalog;
    private final ModelPlanner planner;
    private final Function<ModelSpec, List<FilePlan>> plan;
    private final SplitPlanner splitPlanner;
    private final int[] targetKeys;
    private final boolean cacheOn;
    private final FetchMode mode;
    private final Duration refresh;

    // Read by the refresh check on the worker thread.
    private final Map<String, StagedModel> staged = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    private final java.util.Set<String> planning = new java.util.HashSet<>();
    private final Map<Integer, String> hosts = new TreeMap<>();
    private final Map<Integer, Deque<ChunkSplit>> queues = new HashMap<>();
    private final Map<Integer, Integer> waiting = new HashMap<>();
    private final Map<Integer, Boolean> signalled = new HashMap<>();
    private List<ModelSpec> models = List.of();
    private boolean catalogRead;
    private String lastRefusal;
    private final java.util.Set<String> warned = new java.util.HashSet<>();
    private int rotation;

    private record Pending(ModelSpec model, int index, List<FilePlan> files) {}

    /**
     * @param catalog the models (read once, or on every refresh)
     * @param planner plans models and fingerprints them
     * @param plan plans one model into files (runs on the context's worker thread); usually {@code
     *     planner::plan}
     * @param targetKeys per subtask index, the key of its target ({@link TargetKeys})
     * @param cacheOn whether files are written into the hosts' caches
     * @param mode who fetches each range
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
            Duration refresh,
            WeightEnumeratorState restored) {
        this.context = context;
        this.catalog = catalog;
        this.planner = planner;
        this.plan = plan;
        this.splitPlanner = splitPlanner;
        this.targetKeys = targetKeys.clone();
        this.cacheOn = cacheOn;
        this.mode = mode;
        this.refresh = refresh;
        this.staged.putAll(restored.staged());
        restored.unassigned().forEach((s, splits) -> queue(s).addAll(splits));
    }

    @Override
    public void start() {
        context.callAsync(catalog::models, this::onCatalog);
        if (refresh != null) {
            long ms = Math.max(1, refresh.toMillis());
            context.callAsync(this::checkForChanges, this::onChanges, ms, ms);
        }
    }

    @Override
    public void handleSplitRequest(int subtask, String requesterHostname) {
        waiting.merge(subtask, 1, Integer::sum);
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
        return new WeightEnumeratorState(staged, unassigned);
    }

    @Override
    public void close() throws IOException {}

    private void onCatalog(List<ModelSpec> listed, Throwable error) {
        if (error == null) {
            try {
                ModelCatalog.checkUnique(listed);
            } catch (IllegalArgumentException e) {
                error = e;
            }
        }
        if (error != null) {
            throw new IllegalStateException("cannot read the models to stage", error);
        }
        models = List.copyOf(listed);
        catalogRead = true;
        for (int i = 0; i < models.size(); i++) {
            ModelSpec model = models.get(i);
            int index = i;
            if (!staged.containsKey(model.name()) && planning.add(model.name())) {
                context.callAsync(
                        () -> plan.apply(model),
                        (files, err) -> onPlanned(model, index, files, err));
            }
        }
        releaseRemoved();
        serveAll();
    }

    private void onPlanned(ModelSpec model, int index, List<FilePlan> files, Throwable error) {
        if (error != null) {
            String reason = ModelPlanner.describe(error);
            files = List.of(FilePlan.failed(model.name(), 1, model.uri(), reason));
        }
        for (FilePlan f : files) {
            if (f.isFailure() && warned.add(f.uri() + "\n" + f.error())) {
                LOG.warn(
                        "Not staging {}: {}",
                        Redaction.uri(f.uri()),
                        Redaction.text(f.error())); // once per file and reason
            }
        }
        planning.remove(model.name());
        pending.put(model.name(), new Pending(model, index, files));
        distributePending();
    }

    /** Cuts and queues the planned models once every reader has said where it runs. */
    private void distributePending() {
        if (hosts.size() < targetKeys.length || pending.isEmpty()) {
            return;
        }
        for (Pending p : new ArrayList<>(pending.values())) {
            pending.remove(p.model().name());
            distribute(p.model(), p.index(), p.files());
        }
        serveAll();
    }

    private void distribute(ModelSpec model, int index, List<FilePlan> files) {
        StagedModel before = staged.get(model.name());
        int generation = before == null ? 0 : before.generation() + 1;
        List<Integer> slots = model.placement().slots(hosts, index);
        if (slots.isEmpty()) {
            String reason =
                    "placement '"
                            + model.placement()
                            + "' matches no slot (hosts: "
                            + String.join(", ", new java.util.TreeSet<>(hosts.values()))
                            + ")";
            LOG.warn("Not staging {}: {}", model.name(), Redaction.text(reason));
            int first = hosts.keySet().iterator().next();
            queue(first)
                    .addAll(
                            splitPlanner.splits(
                                    FilePlan.failed(model.name(), 1, model.uri(), reason),
                                    targetKeys[first],
                                    generation));
            staged.put(model.name(), new StagedModel(null, List.of(first), generation));
            return;
        }
        long modelBytes =
                files.stream().filter(f -> !f.isFailure()).mapToLong(f -> f.version().size()).sum();
        // Each reader's splits go round the model's files (one split of each file in turn), so
        // that the reads in flight, and the staging writes after them, are spread over the files.
        List<Map<Integer, List<ChunkSplit>>> byFile = new ArrayList<>(); // reader -> its splits
        for (FilePlan f : files) {
            Map<Integer, List<ChunkSplit>> ofFile = new TreeMap<>();
            byFile.add(ofFile);
            Function<Integer, List<ChunkSplit>> queueOfFile =
                    reader -> ofFile.computeIfAbsent(reader, r -> new ArrayList<>());
            if (f.isFailure() || mode == FetchMode.PER_TARGET) {
                for (int slot : slots) {
                    boolean owner = claimCache(f, slot);
                    for (ChunkSplit s : splitPlanner.splits(f, targetKeys[slot], generation)) {
                        queueOfFile
                                .apply(slot)
                                .add(
                                        s.withCacheOwner(owner && !s.isFailure())
                                                .withModelBytes(modelBytes));
                    }
                }
            } else if (mode == FetchMode.PER_HOST) {
                Map<String, List<Integer>> byHost = new TreeMap<>();
                slots.forEach(
                        s -> byHost.computeIfAbsent(hosts.get(s), h -> new ArrayList<>()).add(s));
                byHost.forEach(
                        (host, hostSlots) -> {
                            List<Integer> fetchers = readersOn(host);
                            fanOut(f, hostSlots, fetchers, generation, modelBytes, queueOfFile);
                        });
            } else {
                fanOut(
                        f,
                        slots,
                        new ArrayList<>(hosts.keySet()),
                        generation,
                        modelBytes,
                        queueOfFile);
            }
        }
        java.util.Set<Integer> readers = new java.util.TreeSet<>();
        byFile.forEach(ofFile -> readers.addAll(ofFile.keySet()));
        for (int reader : readers) {
            List<List<ChunkSplit>> ofReader = new ArrayList<>();
            byFile.forEach(ofFile -> ofReader.add(ofFile.getOrDefault(reader, List.of())));
            queue(reader).addAll(roundRobin(ofReader));
        }
        staged.put(
                model.name(),
                new StagedModel(
                        fingerprint(model, ModelPlanner.fingerprint(files)), slots, generation));
        if (before != null) {
            // Slots that held the old version but are no longer placed let it go.
            before.slots().stream()
                    .filter(s -> !slots.contains(s))
                    .forEach(s -> queue(s).add(releaseSplit(model.name(), s, generation)));
        }
    }

    /**
     * Queues {@code file}'s splits so that each is fetched once, by the fetchers in turn, and
     * delivered to every one of {@code slots}.
     */
    private void fanOut(
            FilePlan file,
            List<Integer> slots,
            List<Integer> fetchers,
            int generation,
            long modelBytes,
            Function<Integer, List<ChunkSplit>> queueOfFile) {
        int n = slots.size();
        int[] targets = new int[n];
        boolean[] owners = new boolean[n];
        for (int i = 0; i < n; i++) {
            targets[i] = targetKeys[slots.get(i)];
            owners[i] = claimCache(file, slots.get(i));
        }
        List<ChunkSplit> splits = splitPlanner.splits(file, targets[0], generation);
        for (int i = 0; i < splits.size(); i++) {
            int fetcher = fetchers.get((i + rotation) % fetchers.size());
            String fetcherHost = hosts.get(fetcher);
            boolean[] local = new boolean[n];
            for (int j = 0; j < n; j++) {
                local[j] = hosts.get(slots.get(j)).equals(fetcherHost);
            }
            queueOfFile
                    .apply(fetcher)
                    .add(
                            splits.get(i)
                                    .withDestinations(targets, owners, local)
                                    .withModelBytes(modelBytes));
        }
        rotation += splits.size();
    }

    /** The lists' elements taken one from each list in turn: a0, b0, c0, a1, b1, ... */
    static <T> List<T> roundRobin(List<List<T>> lists) {
        List<T> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            boolean any = false;
            for (List<T> l : lists) {
                if (i < l.size()) {
                    out.add(l.get(i));
                    any = true;
                }
            }
            if (!any) {
                return out;
            }
        }
    }

    private List<Integer> readersOn(String host) {
        List<Integer> out = new ArrayList<>();
        hosts.forEach(
                (s, h) -> {
                    if (h.equals(host)) {
                        out.add(s);
                    }
                });
        return out;
    }

    /**
     * Whether {@code slot} may write {@code file} into its host's cache. Every destination may: the
     * staging slots of a host agree among themselves on the one that writes (they know where they
     * run; after a failure a slot may run on another host than its reader did).
     */
    private boolean claimCache(FilePlan file, int slot) {
        return cacheOn && !file.isFailure();
    }

    private ChunkSplit releaseSplit(String model, int slot, int generation) {
        return ChunkSplit.release(
                targetKeys[slot] + ":" + model + "#" + generation + ":release",
                targetKeys[slot],
                model);
    }

    /**
     * What must stay equal for a distributed model to count as unchanged: its files' versions, its
     * placement and its expected version. Null (never equal) for a failed model.
     */
    private static String fingerprint(ModelSpec model, String files) {
        return files == null
                ? null
                : files + "placement " + model.placement() + "\nversion " + model.version();
    }

    /** Runs on the worker thread: which models changed since they were distributed. */
    private List<ModelSpec> checkForChanges() throws Exception {
        List<ModelSpec> listed = catalog.models();
        ModelCatalog.checkUnique(listed);
        List<ModelSpec> changed = new ArrayList<>();
        for (ModelSpec m : listed) {
            StagedModel s = staged.get(m.name());
            if (s == null) {
                continue; // new: planned by onChanges
            }
            try {
                String now = fingerprint(m, planner.fingerprint(m));
                if (!now.equals(s.fingerprint())) {
                    changed.add(m);
                }
            } catch (Exception e) {
                LOG.warn(
                        "Refresh: cannot check {}: {}",
                        m.name(),
                        Redaction.text(ModelPlanner.describe(e)));
            }
        }
        changed.add(null); // marker: the listed models follow
        changed.addAll(listed);
        return changed;
    }

    private void onChanges(List<ModelSpec> result, Throwable error) {
        if (error != null) {
            String why = ModelPlanner.describe(error);
            if (!why.equals(lastRefusal)) { // once per distinct problem, not every interval
                LOG.warn(
                        "Refresh: keeping the models staged; cannot take the models to stage: {}",
                        why);
                lastRefusal = why;
            }
            return;
        }
        lastRefusal = null;
        int marker = result.indexOf(null);
        List<ModelSpec> changed = result.subList(0, marker);
        models = List.copyOf(result.subList(marker + 1, result.size()));
        for (int i = 0; i < models.size(); i++) {
            ModelSpec model = models.get(i);
            int index = i;
            if (planning.contains(model.name()) || pending.containsKey(model.name())) {
                continue; // its last plan is not distributed yet
            }
            boolean isNew = !staged.containsKey(model.name());
            if (isNew || changed.contains(model)) {
                planning.add(model.name());
                LOG.info(
                        "Refresh: staging {} ({})",
                        model.name(),
                        isNew ? "new" : "changed, or failed last time");
                context.callAsync(
                        () -> plan.apply(model),
                        (files, err) -> onPlanned(model, index, files, err));
            }
        }
        releaseRemoved();
        serveAll();
    }

    private void releaseRemoved() {
        if (refresh == null) {
            return;
        }
        List<String> names = models.stream().map(ModelSpec::name).toList();
        for (String gone : new ArrayList<>(staged.keySet())) {
            if (!names.contains(gone)) {
                StagedModel s = staged.remove(gone);
                LOG.info("Refresh: releasing {} from {} slot(s)", gone, s.slots().size());
                for (int slot : s.slots()) {
                    queue(slot).add(releaseSplit(gone, slot, s.generation() + 1));
                }
            }
        }
    }

    private void serveAll() {
        for (int subtask = 0; subtask < targetKeys.length; subtask++) {
            serve(subtask);
        }
    }

    private void serve(int subtask) {
        Deque<ChunkSplit> q = queue(subtask);
        while (waiting.getOrDefault(subtask, 0) > 0 && !q.isEmpty()) {
            context.assignSplit(q.poll(), subtask);
            waiting.merge(subtask, -1, Integer::sum);
        }
        if (refresh != null) {
            return; // unbounded: more splits may come on a later refresh
        }
        boolean allStaged =
                catalogRead
                        && pending.isEmpty()
                        && models.stream().allMatch(m -> staged.containsKey(m.name()));
        if (q.isEmpty() && allStaged && waiting.getOrDefault(subtask, 0) > 0) {
            if (signalled.put(subtask, true) == null) {
                context.signalNoMoreSplits(subtask);
            }
            waiting.put(subtask, 0);
        }
    }

    private Deque<ChunkSplit> queue(int subtask) {
        return queues.computeIfAbsent(subtask, s -> new ArrayDeque<>());
    }
}
