package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.source.enumerator.FilePlan;
import io.warmstage.source.enumerator.SplitPlanner;
import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightSplitEnumerator;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        return new WeightSplitEnumerator(
                ctx,
                List.of(new ModelSpec("cnn", CNN.toString()), new ModelSpec("bad", "file:///bad")),
                planner(),
                new SplitPlanner(200_000),
                new int[] {11, 22},
                cacheOn,
                state);
    }

    @Test
    void eachReaderGetsOnlyItsTargetsSplitsThenNoMoreSplits() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        ctx.registerReader(0, "host-a");
        ctx.registerReader(1, "host-a");
        WeightSplitEnumerator e = enumerator(ctx, true, WeightEnumeratorState.empty());
        e.start();
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
        assertThat(zero.stream().filter(ChunkSplit::isFailure).map(ChunkSplit::error))
                .containsExactly("broken");
        // one cache writer per host and file: the first reader of host-a that got the file
        assertThat(zero.stream().filter(s -> !s.isFailure())).allMatch(ChunkSplit::cacheOwner);
        assertThat(one).noneMatch(ChunkSplit::cacheOwner);
        assertThat(ctx.getSplitAssignments().get(0).hasReceivedNoMoreSplitsSignal()).isTrue();
        assertThat(ctx.getSplitAssignments().get(1).hasReceivedNoMoreSplitsSignal()).isTrue();
    }

    @Test
    void readersOnDifferentHostsEachWriteTheirOwnCache() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        ctx.registerReader(0, "host-a");
        ctx.registerReader(1, "host-b");
        WeightSplitEnumerator e = enumerator(ctx, true, WeightEnumeratorState.empty());
        e.start();
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "host-a");
        e.handleSplitRequest(1, "host-b");
        assertThat(ctx.getSplitAssignments().get(0).getAssignedSplits())
                .allMatch(ChunkSplit::cacheOwner);
        assertThat(ctx.getSplitAssignments().get(1).getAssignedSplits())
                .allMatch(ChunkSplit::cacheOwner);
    }

    @Test
    void snapshotKeepsUnassignedSplitsAndRestoreHandsThemOutWithoutReplanning() {
        TestingSplitEnumeratorContext<ChunkSplit> ctx = new TestingSplitEnumeratorContext<>(2);
        ctx.registerReader(0, "h");
        WeightSplitEnumerator e = enumerator(ctx, false, WeightEnumeratorState.empty());
        e.start();
        ctx.triggerAllActions();
        e.handleSplitRequest(0, "h");
        WeightEnumeratorState state = e.snapshotState(1);
        assertThat(state.plannedModels()).containsExactlyInAnyOrder("cnn", "bad");
        assertThat(state.unassigned().get(0)).hasSize(3);
        assertThat(state.unassigned().get(1)).hasSize(4);

        TestingSplitEnumeratorContext<ChunkSplit> ctx2 = new TestingSplitEnumeratorContext<>(2);
        WeightSplitEnumerator restored = enumerator(ctx2, false, state);
        restored.start();
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
        ctx.registerReader(0, "h");
        WeightSplitEnumerator e =
                new WeightSplitEnumerator(
                        ctx,
                        List.of(new ModelSpec("cnn", CNN.toString())),
                        planner(),
                        new SplitPlanner(1 << 20),
                        new int[] {5},
                        false,
                        WeightEnumeratorState.empty());
        e.start();
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
}
