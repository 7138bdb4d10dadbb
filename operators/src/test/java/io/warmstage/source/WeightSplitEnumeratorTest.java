package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelSpec;
import io.warmstage.plan.Placement;
import io.warmstage.source.enumerator.SplitPlanner;
import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightSplitEnumerator;
import io.warmstage.source.fleet.ReaderHostEvent;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.flink.connector.testutils.source.reader.TestingSplitEnumeratorContext;
import org.junit.jupiter.api.Test;

class WeightSplitEnumeratorTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    private static Function<ModelSpec, List<FilePlan>> planner() {
        return m -> {
            try {
                if (m.uri().contains("bad")) {
                    return List.of(FilePlan.failed(m.name(), 1, m.uri(), "broken"));
                }
                return List.of(
                        new FilePlan(
                                m.name(),
                                1,
                                CNN.toUri().toString(),
                                new ObjectVersion(Files.size(CNN), "v"),
                                HeaderParser.read(CNN),
                                null));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private static WeightSplitEnumerator enumerator(
            TestingSplitEnumeratorContext<ChunkSplit> ctx,
            boolean cacheOn,
            WeightEnumeratorState state) {
        return enumerator(
                ctx,
                List.of(new ModelSpec("cnn", CNN.toString()), new ModelSpec("bad", "file:///bad")),
                new int[] {11, 22},
                cacheOn,
                FetchMode.PER_TARGET,
                state);
    }

    private static WeightSplitEnumerator enumerator(
            TestingSplitEnumeratorContext<ChunkSplit> ctx,
            List<ModelSpec> models,
            int[] keys,
            boolean cacheOn,
            FetchMode mode,
            WeightEnumeratorState state) {
        return new WeightSplitEnumerator(
                ctx,
                ModelCatalog.of(models),
                null,
                planner(),
                new SplitPlanner(200_000),
                keys,
                cacheOn,
                mode,
                false,
                null,
                state);
    }

    /** Registers readers and their hosts as they would report themselves. */
    private static void hosts(
            TestingSplitEnumeratorContext<ChunkSplit> ctx, WeightSplitEnumerator e, String... h) {
        for (int i = 0; i < h.length; i++) {
            ctx.registerReader(i, h[i]);
            e.handleSourceEvent(i, new ReaderHostEvent(h[i]));
        }
    }

    @Test
    void aReadersSplitsTakeTheModelsFilesInTurn() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(1);
        Function<ModelSpec, List<FilePlan>> twoShards =
                m -> {
                    try {
                        List<FilePlan> out = new java.util.ArrayList<>();
                        for (String shard : List.of("file:///m/a", "file:///m/b")) {
                            out.add(
                                    new FilePlan(
                                            m.name(),
                                            2,
                                            shard,
                                            new ObjectVersion(Files.size(CNN), "v"),
                                            HeaderParser.read(CNN),
                                            null));
                        }
                        return out;
                    } catch (Exception ex) {
                        throw new IllegalStateException(ex);
                    }
                };
        WeightSplitEnumerator e =
                new WeightSplitEnumerator(
                        ctx,
                        ModelCatalog.of(List.of(new ModelSpec("two", "file:///m/index.json"))),
                        null,
                        twoShards,
                        new SplitPlanner(200_000),
                        new int[] {11},
                        false,
                        FetchMode.PER_TARGET,
                        false,
                        null,
                        WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "h");
        for (int i = 0; i < 10; i++) {
            e.handleSplitRequest(0, "h");
        }
        ctx.triggerAllActions();

        List<ChunkSplit> splits = ctx.getSplitAssignments().get(0).getAssignedSplits();
        // each shard: a header split and 2 data splits of <= 200000 bytes
        assertThat(splits.stream().map(s -> data(s).uri()))
                .containsExactly(
                        "file:///m/a",
                        "file:///m/b",
                        "file:///m/a",
                        "file:///m/b",
                        "file:///m/a",
                        "file:///m/b");
        assertThat(splits.stream().map(s -> data(s).offset()).distinct()).hasSize(3);
    }

    @Test
    void eachReaderGetsOnlyItsTargetsSplitsThenNoMoreSplits() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator e = enumerator(ctx, true, WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "host-a", "host-a");
        for (int i = 0; i < 10; i++) {
            e.handleSplitRequest(0, "host-a");
            e.handleSplitRequest(1, "host-a");
        }
        assertThat(ctx.getSplitAssignments()).isEmpty(); // planning has not run yet
        ctx.triggerAllActions();

        List<ChunkSplit> zero = ctx.getSplitAssignments().get(0).getAssignedSplits();
        List<ChunkSplit> one = ctx.getSplitAssignments().get(1).getAssignedSplits();
        // cnn: header split + 2 data splits of <= 200000 bytes; bad: one failure split
        assertThat(zero).hasSize(4).allMatch(s -> s.target() == 11);
        assertThat(one).hasSize(4).allMatch(s -> s.target() == 22);
        assertThat(
                        zero.stream()
                                .filter(FailureSplit.class::isInstance)
                                .map(s -> ((FailureSplit) s).error()))
                .containsExactly("broken");
        // every destination may write the cache; the host's staging slots pick one writer
        assertThat(zero.stream().filter(DataSplit.class::isInstance))
                .allMatch(WeightSplitEnumeratorTest::owner);
        assertThat(one.stream().filter(DataSplit.class::isInstance))
                .allMatch(WeightSplitEnumeratorTest::owner);
        assertThat(zero.stream().filter(FailureSplit.class::isInstance))
                .noneMatch(WeightSplitEnumeratorTest::owner);
        assertThat(ctx.getSplitAssignments().get(0).hasReceivedNoMoreSplitsSignal()).isTrue();
        assertThat(ctx.getSplitAssignments().get(1).hasReceivedNoMoreSplitsSignal()).isTrue();
    }

    @Test
    void readersOnDifferentHostsEachWriteTheirOwnCache() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator e = enumerator(ctx, true, WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "host-a", "host-b");
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "host-a");
        e.handleSplitRequest(1, "host-b");
        assertThat(ctx.getSplitAssignments().get(0).getAssignedSplits())
                .allMatch(WeightSplitEnumeratorTest::owner);
        assertThat(ctx.getSplitAssignments().get(1).getAssignedSplits())
                .allMatch(WeightSplitEnumeratorTest::owner);
    }

    @Test
    void snapshotKeepsUnassignedSplitsAndRestoreHandsThemOutWithoutReplanning() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator e = enumerator(ctx, false, WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "h", "h");
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "h");
        WeightEnumeratorState state = e.snapshotState(1);
        assertThat(state.staged()).containsOnlyKeys("cnn", "bad");
        assertThat(state.staged().get("cnn").slots()).containsExactly(0, 1);
        assertThat(state.unassigned().get(0)).hasSize(3);
        assertThat(state.unassigned().get(1)).hasSize(4);

        TestingSplitEnumeratorContext<ChunkSplit> ctx2 = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator restored = enumerator(ctx2, false, state);
        restored.start();
        ctx2.getExecutorService().triggerAll(); // reads the catalog: every model is staged already
        assertThat(ctx2.getExecutorService().numQueuedRunnables()).isZero(); // nothing re-planned
        for (int i = 0; i < 5; i++) {
            restored.handleSplitRequest(0, "h");
        }
        assertThat(ctx2.getSplitAssignments().get(0).getAssignedSplits())
                .containsExactlyElementsOf(state.unassigned().get(0));
        assertThat(ctx2.getSplitAssignments().get(0).hasReceivedNoMoreSplitsSignal()).isTrue();
    }

    @Test
    void splitsAddedBackAfterAReaderFailureAreAssignedAgain() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(1);
        WeightSplitEnumerator e =
                new WeightSplitEnumerator(
                        ctx,
                        ModelCatalog.of(List.of(new ModelSpec("cnn", CNN.toString()))),
                        null,
                        planner(),
                        new SplitPlanner(1 << 20),
                        new int[] {5},
                        false,
                        FetchMode.PER_TARGET,
                        false,
                        null,
                        WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "h");
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "h");
        e.handleSplitRequest(0, "h");
        e.handleSplitRequest(0, "h");
        List<ChunkSplit> first = List.copyOf(ctx.getSplitAssignments().get(0).getAssignedSplits());
        assertThat(first).hasSize(2);
        e.addSplitsBack(first, 0);
        e.addReader(0);
        e.handleSplitRequest(0, "h");
        e.handleSplitRequest(0, "h");
        List<ChunkSplit> all = ctx.getSplitAssignments().get(0).getAssignedSplits();
        assertThat(all.subList(2, 4)).containsExactlyElementsOf(first);
    }

    /** Every split each reader got, by subtask. */
    private static Map<Integer, List<ChunkSplit>> drain(
            TestingSplitEnumeratorContext<ChunkSplit> ctx, WeightSplitEnumerator e, int readers) {
        ctx.triggerAllActions();
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < readers; i++) {
                e.handleSplitRequest(i, "h");
            }
        }
        Map<Integer, List<ChunkSplit>> out = new TreeMap<>();
        ctx.getSplitAssignments().forEach((s, a) -> out.put(s, a.getAssignedSplits()));
        return out;
    }

    private static final int[] KEYS4 = {11, 22, 33, 44};

    /** Bytes of {@code cnn} fetched (split lengths), and deliveries per target. */
    private static long fetched(Map<Integer, List<ChunkSplit>> byReader) {
        return byReader.values().stream()
                .flatMap(List::stream)
                .filter(DataSplit.class::isInstance)
                .mapToLong(s -> data(s).length())
                .sum();
    }

    private static Map<Integer, Long> delivered(Map<Integer, List<ChunkSplit>> byReader) {
        Map<Integer, Long> out = new TreeMap<>();
        byReader.values().stream()
                .flatMap(List::stream)
                .filter(DataSplit.class::isInstance)
                .forEach(
                        s -> {
                            for (Destination d : s.destinations()) {
                                // a host destination reaches each target its relay lists
                                for (int t : d.relays() ? d.relay() : List.of(d.target())) {
                                    out.merge(t, data(s).length(), Long::sum);
                                }
                            }
                        });
        return out;
    }

    /**
     * Fan-out with the host relay: the fleet fetches the file once, each split goes to one lead
     * slot per host, and through the relays every slot receives the whole file exactly once.
     */
    @Test
    void fanOutWithTheHostRelayDeliversEachSplitOncePerHost() throws Exception {
        long size = Files.size(CNN);
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(4);
        WeightSplitEnumerator e =
                new WeightSplitEnumerator(
                        ctx,
                        ModelCatalog.of(List.of(new ModelSpec("cnn", CNN.toString()))),
                        null,
                        planner(),
                        new SplitPlanner(200_000),
                        KEYS4,
                        true,
                        FetchMode.FAN_OUT,
                        true,
                        null,
                        WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "a", "a", "b", "b");
        Map<Integer, List<ChunkSplit>> got = drain(ctx, e, 4);
        assertThat(fetched(got)).isEqualTo(size);
        assertThat(delivered(got))
                .containsExactlyInAnyOrderEntriesOf(Map.of(11, size, 22, size, 33, size, 44, size));
        got.forEach(
                (reader, splits) ->
                        splits.forEach(
                                s ->
                                        assertThat(s.destinations())
                                                .containsExactly(
                                                        new Destination(
                                                                11,
                                                                true,
                                                                reader < 2,
                                                                List.of(11, 22)),
                                                        new Destination(
                                                                33,
                                                                true,
                                                                reader >= 2,
                                                                List.of(33, 44)))));
    }

    @Test
    void fetchModesFetchOncePerSlotPerHostOrForTheFleet() throws Exception {
        long size = Files.size(CNN);
        List<ModelSpec> one = List.of(new ModelSpec("cnn", CNN.toString()));
        for (FetchMode mode : FetchMode.values()) {
            TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(4);
            WeightSplitEnumerator e =
                    enumerator(ctx, one, KEYS4, true, mode, WeightEnumeratorState.empty());
            e.start();
            hosts(ctx, e, "a", "a", "b", "b");
            Map<Integer, List<ChunkSplit>> got = drain(ctx, e, 4);
            long copies = mode == FetchMode.PER_TARGET ? 4 : mode == FetchMode.PER_HOST ? 2 : 1;
            assertThat(fetched(got)).as(mode.label()).isEqualTo(copies * size);
            // every slot receives the whole file exactly once
            assertThat(delivered(got))
                    .as(mode.label())
                    .containsExactlyInAnyOrderEntriesOf(
                            Map.of(11, size, 22, size, 33, size, 44, size));
            // every destination may write its host's cache (the slots of a host pick one writer)
            Set<Integer> owners = new TreeSet<>();
            got.values().stream()
                    .flatMap(List::stream)
                    .forEach(
                            s -> {
                                for (Destination d : s.destinations()) {
                                    if (d.cacheOwner()) {
                                        owners.add(d.target());
                                    }
                                }
                            });
            assertThat(owners).as(mode.label()).containsExactly(11, 22, 33, 44);
            if (mode == FetchMode.PER_HOST) {
                // a host's readers fetch only for that host's slots, and share the work
                assertThat(got.get(0)).isNotEmpty();
                assertThat(got.get(1)).isNotEmpty();
                got.get(2).forEach(s -> assertThat(s.target()).isIn(33, 44));
            }
            if (mode == FetchMode.FAN_OUT) {
                for (List<ChunkSplit> splits : got.values()) {
                    for (ChunkSplit s : splits) {
                        assertThat(s.destinations()).hasSize(4);
                    }
                }
            }
            for (int i = 0; i < 4; i++) {
                assertThat(ctx.getSplitAssignments().get(i).hasReceivedNoMoreSplitsSignal())
                        .isTrue();
            }
        }
    }

    @Test
    void nothingIsAssignedBeforeEveryReaderReportedItsHost() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator e = enumerator(ctx, false, WeightEnumeratorState.empty());
        e.start();
        ctx.registerReader(0, "a");
        e.handleSourceEvent(0, new ReaderHostEvent("a"));
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "a");
        assertThat(ctx.getSplitAssignments()).isEmpty();
        ctx.registerReader(1, "b");
        e.handleSourceEvent(1, new ReaderHostEvent("b"));
        assertThat(ctx.getSplitAssignments().get(0).getAssignedSplits()).hasSize(1);
    }

    @Test
    void placementReplicasSpreadOverHostsAndHostSelectorPicksHosts() throws Exception {
        List<ModelSpec> models =
                List.of(
                        new ModelSpec("two", CNN.toString(), Placement.replicas(2)),
                        new ModelSpec("b-only", CNN.toUri() + "?b", Placement.hosts("gpu-b.*")),
                        new ModelSpec("none", CNN.toUri() + "?n", Placement.hosts("nope")));
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(4);
        WeightSplitEnumerator e =
                new WeightSplitEnumerator(
                        ctx,
                        ModelCatalog.of(models),
                        null,
                        m -> planner().apply(new ModelSpec(m.name(), CNN.toString())),
                        new SplitPlanner(200_000),
                        KEYS4,
                        false,
                        FetchMode.PER_TARGET,
                        false,
                        null,
                        WeightEnumeratorState.empty());
        e.start();
        hosts(ctx, e, "gpu-a1", "gpu-a1", "gpu-b1", "gpu-b1");
        Map<Integer, List<ChunkSplit>> got = drain(ctx, e, 4);
        Map<String, Set<Integer>> slotsOf = new TreeMap<>();
        got.values().stream()
                .flatMap(List::stream)
                .forEach(
                        s ->
                                slotsOf.computeIfAbsent(s.model(), k -> new TreeSet<>())
                                        .add(s.target()));
        assertThat(slotsOf.get("two")).hasSize(2).containsAnyOf(11, 22).containsAnyOf(33, 44);
        assertThat(slotsOf.get("b-only")).containsExactly(33, 44);
        List<ChunkSplit> none =
                got.values().stream()
                        .flatMap(List::stream)
                        .filter(s -> s.model().equals("none"))
                        .toList();
        assertThat(none).hasSize(1);
        assertThat(((FailureSplit) none.get(0)).error())
                .contains("placement 'hosts matching nope' matches no slot")
                .contains("gpu-a1, gpu-b1");
    }

    private static DataSplit data(ChunkSplit s) {
        return (DataSplit) s;
    }

    /** Whether the split's first destination may write its host's cache. */
    private static boolean owner(ChunkSplit s) {
        return s.destinations().get(0).cacheOwner();
    }
}
