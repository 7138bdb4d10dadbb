package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import io.warmstage.storage.RangeServer;
import io.warmstage.storage.StorageOptions;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage faults through the whole job: a misbehaving origin serves one model while a good one
 * serves another. Either the right bytes or a clear failure of that file only; nothing of a failed
 * file is published to the cache under a final name.
 */
class FaultyOriginITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(1)
                            .build());

    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @TempDir Path cacheDir;
    private RangeServer faulty;

    @BeforeEach
    void start() throws Exception {
        faulty = new RangeServer();
        faulty.handler.put("/cnn.safetensors", Files.readAllBytes(CNN));
    }

    @AfterEach
    void stop() throws Exception {
        faulty.handler.releaseStalled();
        faulty.close();
        ResidentSet.releaseAll();
    }

    private List<StagingEvent> stage() throws Exception {
        Configuration conf = new Configuration();
        conf.set(StagingOptions.KEEP_RESIDENT, true);
        conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
        conf.set(WeightSourceOptions.SPLIT_SIZE, MemorySize.parse("64kb"));
        conf.set(WeightSourceOptions.RECORD_SIZE, MemorySize.parse("16kb"));
        conf.set(StorageOptions.RETRY_INITIAL_BACKOFF, Duration.ofMillis(5));
        conf.set(StorageOptions.RETRY_MAX_BACKOFF, Duration.ofMillis(20));
        conf.set(StorageOptions.HTTP_STALL_TIMEOUT, Duration.ofMillis(500));
        List<ModelSpec> models =
                List.of(
                        new ModelSpec("good", PEFT.toUri().toString()),
                        new ModelSpec("faulty", faulty.uri("/cnn.safetensors").toString()));
        return StagingPipelineITCase.run(models, conf, 1);
    }

    private static StagingEvent file(List<StagingEvent> events, String model) {
        return events.stream()
                .filter(e -> e.event.equals(StagingEvent.FILE) && e.model.equals(model))
                .findFirst()
                .orElseThrow();
    }

    private static Map<String, String> crcs(List<StagingEvent> events, String model) {
        Map<String, String> out = new HashMap<>();
        events.stream()
                .filter(e -> e.event.equals(StagingEvent.TENSOR) && e.model.equals(model))
                .forEach(e -> out.put(e.tensor, e.crc32c));
        return out;
    }

    private void assertGoodModelStaged(List<StagingEvent> events) throws Exception {
        assertThat(file(events, "good").status).isEqualTo("staged");
        assertThat(crcs(events, "good")).isEqualTo(ReferenceReader.crcs(PEFT));
    }

    private void assertFaultyFailedAndNotCached(List<StagingEvent> events, String reason)
            throws Exception {
        StagingEvent f = file(events, "faulty");
        assertThat(f.status).isEqualTo("failed");
        assertThat(f.reason).contains(reason).contains("cnn.safetensors");
        // Tensors completed before the fault may be reported, but only with the pinned
        // version's bytes: never bytes of another version, never spliced.
        assertThat(ReferenceReader.crcs(CNN)).containsAllEntriesOf(crcs(events, "faulty"));
        try (Stream<Path> s = Files.list(cacheDir)) {
            assertThat(s.filter(p -> !p.getFileName().toString().startsWith(".")))
                    .as("only the good model's entry and sidecar under final names")
                    .hasSize(2);
        }
    }

    private void assertFaultyStagedRight(List<StagingEvent> events) throws Exception {
        assertThat(file(events, "faulty").status).isEqualTo("staged");
        assertThat(crcs(events, "faulty")).isEqualTo(ReferenceReader.crcs(CNN));
    }

    @Test
    void threeFiveOhThreesOnEveryRangeThenSuccessGiveTheRightBytes() throws Exception {
        faulty.handler.failFirstAttempts = 3;
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyStagedRight(events);
    }

    @Test
    void aBodyCutOffHalfwayIsResumedAndGivesTheRightBytes() throws Exception {
        faulty.handler.cutNextBodies(3);
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyStagedRight(events);
    }

    @Test
    void aStalledBodyIsResumedAndGivesTheRightBytes() throws Exception {
        faulty.handler.stallNextBodies(2);
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyStagedRight(events);
    }

    @Test
    void aWholeBodyAnswerToARangeFailsThatFileOnly() throws Exception {
        faulty.handler.ignoreRanges = true;
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyFailedAndNotCached(events, "200");
    }

    @Test
    void gzipOnARangedResponseFailsThatFileOnly() throws Exception {
        faulty.handler.contentEncoding = "gzip";
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyFailedAndNotCached(events, "gzip");
    }

    @Test
    void notFoundAndForbiddenFailThatFileOnlyWithTheStatus() throws Exception {
        faulty.handler.fix("/cnn.safetensors", 403, Map.of());
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyFailedAndNotCached(events, "403");
    }

    @Test
    void anObjectOverwrittenBetweenRangedReadsFailsAsObjectChanged() throws Exception {
        // The first data range is answered, then the object changes under the same path.
        faulty.handler.failFirstAttempts = 0;
        byte[] changed = Files.readAllBytes(CNN);
        changed[changed.length - 1] ^= 1;
        faulty.handler.onFirstGetAbove(
                64 << 10, () -> faulty.handler.put("/cnn.safetensors", changed));
        List<StagingEvent> events = stage();
        assertGoodModelStaged(events);
        assertFaultyFailedAndNotCached(events, "changed");
    }
}
