package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.plan.FilePlan;
import io.warmstage.source.enumerator.SplitPlanner;
import io.warmstage.source.enumerator.TargetKeys;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

class SplitPlannerTest {

    @Test
    void headerIsTheFirstSplitAndSplitsTileTheFileExactly() throws Exception {
        Path file = SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
        SafetensorsHeader header = HeaderParser.read(file);
        long size = Files.size(file);
        FilePlan plan =
                new FilePlan(
                        "cnn",
                        1,
                        file.toUri().toString(),
                        new ObjectVersion(size, "1"),
                        header,
                        null);

        List<DataSplit> splits =
                new SplitPlanner(100_000)
                        .splits(plan, 42).stream().map(DataSplit.class::cast).toList();

        assertThat(splits.get(0).offset()).isZero();
        assertThat(splits.get(0).end()).isEqualTo(8 + 1624);
        long expected = 0;
        for (DataSplit s : splits) {
            assertThat(s.offset()).isEqualTo(expected);
            assertThat(s.length()).isBetween(1L, 100_000L);
            assertThat(s.destinations()).containsExactly(Destination.of(42));
            assertThat(s.target()).isEqualTo(42);
            assertThat(s.headerEnd()).isEqualTo(1632);
            expected = s.end();
        }
        assertThat(expected).isEqualTo(size);
        // 1632 header bytes, then ceil((353808 - 1632) / 100000) = 4 data splits
        assertThat(splits).hasSize(5);
        assertThat(splits.stream().map(DataSplit::id).distinct()).hasSize(5);
    }

    @Test
    void fileWithoutTensorsIsOneHeaderSplit() throws Exception {
        Path file =
                SharedData.real()
                        .resolve(
                                "run-ai_runai-model-streamer__py__runai_model_streamer__runai_model_streamer__safetensors_streamer__tests__test_files__test_empty.safetensors");
        FilePlan plan =
                new FilePlan(
                        "e",
                        1,
                        "file:///e",
                        new ObjectVersion(16, null),
                        HeaderParser.read(file),
                        null);
        List<ChunkSplit> splits = new SplitPlanner(1 << 20).splits(plan, 0);
        assertThat(splits).hasSize(1);
        assertThat(((DataSplit) splits.get(0)).length()).isEqualTo(16);
    }

    @Test
    void failedFileIsOneFailureSplit() {
        FilePlan plan = FilePlan.failed("m", 2, "http://h/a.safetensors", "not a safetensors file");
        List<ChunkSplit> splits = new SplitPlanner(10).splits(plan, 3);
        assertThat(splits)
                .containsExactly(
                        new FailureSplit(
                                "3:m:http://h/a.safetensors@failed",
                                "m",
                                2,
                                "http://h/a.safetensors",
                                "not a safetensors file",
                                3,
                                0));
    }

    @Test
    void targetKeysLandOnTheirOwnSubtask() {
        for (int parallelism : new int[] {1, 2, 3, 7, 8, 128}) {
            int[] keys = TargetKeys.keys(parallelism, 128);
            for (int i = 0; i < parallelism; i++) {
                assertThat(
                                KeyGroupRangeAssignment.assignKeyToParallelOperator(
                                        keys[i], 128, parallelism))
                        .isEqualTo(i);
            }
        }
    }
}
