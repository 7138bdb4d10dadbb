package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Restores of a slot cut short mid-file, with unusual record sizes and versions. */
class StagingRestoreEdgeTest {
    private static final Path SMALL =
            SharedData.real()
                    .resolve("ttekcor_Embedding_stable_diffusion__learned_embeds.safetensors");

    @TempDir Path stagingDir;

    @AfterEach
    void stop() {
        ResidentSet.releaseAll();
    }

    @Test
    void aRefillInOneBytePiecesStagesTheFileOnce() throws Exception {
        restoreAndCheck(MemorySize.parse("1b"), true, true);
    }

    @Test
    void aRefillInPiecesLargerThanTheFileStagesTheFileOnce() throws Exception {
        restoreAndCheck(MemorySize.parse("64mb"), true, true);
    }

    @Test
    void anOddRecordSizeWithoutTheCache() throws Exception {
        restoreAndCheck(MemorySize.parse("7b"), false, true);
    }

    @Test
    void aFileWithoutAnEtagIsRestored() throws Exception {
        restoreAndCheck(MemorySize.parse("13b"), true, false);
    }

    /**
     * Releases before file keys were records wrote a done file's ETag {@code "null"} into the
     * checkpoint as no ETag (and took no ETag and {@code "null"} for one version when looking a
     * file up): restored from such a checkpoint, a record of that file still finds it done, and the
     * model's file counts are not counted twice.
     */
    @Test
    void aFileDoneWithTheEtagNullInAnEarlierCheckpointIsNotStagedAgain() throws Exception {
        Path other =
                SharedData.real().resolve("huggingface_safetensors__samples__overall.safetensors");
        JobID job = new JobID();
        var first = harness(job, false, MemorySize.parse("4mb"));
        first.open();
        // The entry an earlier release wrote for a file with the ETag "null": no ETag.
        for (ChunkRecord r : StagingFunctionTest.chunks(other, "m", 100, false)) {
            r.etag = null;
            r.modelFiles = 2;
            first.processElement(r, 0);
        }
        OperatorSubtaskState checkpoint = first.snapshot(1, 0);
        first.close();

        var second = harness(job, false, MemorySize.parse("4mb"));
        second.initializeState(checkpoint);
        second.open();
        for (ChunkRecord r : StagingFunctionTest.chunks(other, "m", 100, false)) {
            r.etag = "null"; // the same file, delivered again after the restore
            r.modelFiles = 2;
            second.processElement(r, 0);
        }
        assertThat(second.extractOutputValues()).as("found done, not staged again").isEmpty();
        second.close();
    }

    private void restoreAndCheck(MemorySize record, boolean cacheOn, boolean withEtag)
            throws Exception {
        List<ChunkRecord> records =
                StagingFunctionTest.originRecords(SMALL, SMALL.toUri().toString(), "small", 100);
        if (!withEtag) {
            records.forEach(r -> r.etag = null);
        }
        int cut = records.size() / 2;
        JobID job = new JobID();
        var first = harness(job, cacheOn, record);
        first.open();
        for (ChunkRecord r : records.subList(0, cut)) {
            first.processElement(r, 0);
        }
        OperatorSubtaskState checkpoint = first.snapshot(1, 0);
        List<StagingEvent> before = first.extractOutputValues();
        first.close();

        var second = harness(job, cacheOn, record);
        second.initializeState(checkpoint);
        second.open();
        for (ChunkRecord r : records.subList(cut, records.size())) {
            second.processElement(r, 0);
        }
        List<StagingEvent> after = second.extractOutputValues();
        Map<String, String> reported = new TreeMap<>();
        for (StagingEvent e : before) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                reported.put(e.tensor, e.crc32c);
            }
        }
        for (StagingEvent e : after) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                assertThat(reported.put(e.tensor, e.crc32c)).as("reported once").isNull();
            }
        }
        assertThat(reported).isEqualTo(new TreeMap<>(StagingFunctionTest.referenceCrcs(SMALL)));
        assertThat(after)
                .filteredOn(e -> StagingEvent.FILE.equals(e.event))
                .singleElement()
                .satisfies(e -> assertThat(e.status).as(e.reason).isEqualTo("staged"));
        StagedEntry entry = StagedSet.at(stagingDir).entries().get(0);
        assertThat(Files.readAllBytes(Path.of(entry.file()))).isEqualTo(Files.readAllBytes(SMALL));
        assertThat(
                        entry.tensors().stream()
                                .collect(
                                        Collectors.toMap(StagedTensor::name, StagedTensor::crc32c)))
                .isEqualTo(StagingFunctionTest.referenceCrcs(SMALL));
        second.close();
    }

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness(
            JobID job, boolean cacheOn, MemorySize record) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StagingOptions.STAGING_DIR, stagingDir.toString());
        conf.set(WeightSourceOptions.RECORD_SIZE, record);
        if (cacheOn) {
            conf.set(
                    WeightSourceOptions.CACHE_DIR,
                    stagingDir.resolveSibling(stagingDir.getFileName() + "-cache").toString());
        }
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new StagingFunction(conf, cacheOn)),
                r -> r.target,
                Types.INT,
                new MockEnvironmentBuilder().setJobID(job).setMaxParallelism(128).build());
    }
}
