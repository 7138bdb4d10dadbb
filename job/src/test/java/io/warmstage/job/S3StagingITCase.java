package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.cache.LocalCache;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.S3Proxy;
import io.warmstage.testing.SharedData;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stages the real sharded checkpoint and two single files from s3:// (a real S3-compatible server,
 * S3Proxy, through Flink's S3 plugin) on a MiniCluster: device bytes and tensor checksums equal the
 * origin's and the cache holds every file.
 */
@ExtendWith(S3Proxy.class)
class S3StagingITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(1)
                            .build());

    private static final List<Path> SINGLE_FILES =
            List.of(
                    SharedData.real()
                            .resolve("FluxML_SafeTensors.jl__test__non_sharded__model.safetensors"),
                    SharedData.real()
                            .resolve("huggingface_safetensors__samples__overall.safetensors"));

    @TempDir Path cacheDir;

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @Test
    void stagesTheShardedCheckpointAndTwoFilesFromS3AndFillsTheCache() throws Exception {
        List<Path> objects = new ArrayList<>(SINGLE_FILES);
        try (Stream<Path> shards = Files.list(SharedData.sharded())) {
            objects.addAll(shards.sorted().toList());
        }
        for (Path p : objects) {
            S3Proxy.put(s3(p), p);
        }
        List<ModelSpec> models = new ArrayList<>();
        for (Path p : SINGLE_FILES) {
            models.add(new ModelSpec(p.getFileName().toString(), s3(p).toString()));
        }
        models.add(
                new ModelSpec(
                        "sharded",
                        s3(SharedData.sharded().resolve("model.safetensors.index.json"))
                                .toString()));

        List<StagingEvent> events = run(models);

        List<Path> weights =
                objects.stream().filter(p -> p.toString().endsWith(".safetensors")).toList();
        List<StagingEvent> files =
                events.stream().filter(e -> e.event.equals(StagingEvent.FILE)).toList();
        assertThat(files)
                .allSatisfy(
                        e -> assertThat(e.status).as(e.file + ": " + e.reason).isEqualTo("staged"));
        assertThat(files)
                .extracting(e -> e.file)
                .containsExactlyInAnyOrderElementsOf(
                        weights.stream().map(p -> s3(p).toString()).toList());
        for (Path p : weights) {
            assertStagedExactly(events, p);
        }
        assertCacheHoldsOrigins(weights);
    }

    private List<StagingEvent> run(List<ModelSpec> models) throws Exception {
        Configuration conf = S3Proxy.config();
        conf.set(StagingOptions.KEEP_RESIDENT, true);
        conf.set(WeightSourceOptions.SPLIT_SIZE, MemorySize.parse("64kb"));
        conf.set(WeightSourceOptions.RECORD_SIZE, MemorySize.parse("16kb"));
        conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        List<StagingEvent> events = new ArrayList<>();
        try (CloseableIterator<StagingEvent> it =
                StagingPipeline.build(env, models, conf, 1).executeAndCollect()) {
            it.forEachRemaining(events::add);
        }
        return events;
    }

    /** Tensor checksums and device bytes of {@code p} on slot 0 equal the origin's. */
    private static void assertStagedExactly(List<StagingEvent> events, Path p) throws Exception {
        String uri = s3(p).toString();
        Map<String, String> got = new HashMap<>();
        events.stream()
                .filter(e -> e.event.equals(StagingEvent.TENSOR) && e.file.equals(uri))
                .forEach(e -> got.put(e.tensor, e.crc32c));
        assertThat(got)
                .as("tensor checksums of %s", p.getFileName())
                .isEqualTo(ReferenceReader.crcs(p));
        ResidentSet.Entry entry = ResidentSet.get(0, uri);
        assertThat(entry).as("resident %s", uri).isNotNull();
        ByteBuffer dev = ByteBuffer.allocate((int) entry.data().size());
        entry.data().copyToHost(0, dev);
        assertThat(dev.array())
                .as("device bytes of %s", p.getFileName())
                .isEqualTo(ReferenceReader.dataSection(p));
    }

    private void assertCacheHoldsOrigins(List<Path> weights) throws Exception {
        LocalCache cache = new LocalCache(cacheDir);
        try (ObjectStores stores = ObjectStores.create(S3Proxy.config())) {
            for (Path p : weights) {
                URI u = s3(p);
                Optional<Path> entry = cache.lookup(u, stores.forUri(u).stat(u));
                assertThat(entry).as("cache entry of %s", u).isPresent();
                assertThat(Files.readAllBytes(entry.get())).isEqualTo(Files.readAllBytes(p));
            }
        }
    }

    /** {@code s3://models/<path relative to real/>}. */
    private static URI s3(Path p) {
        return S3Proxy.uri("real/" + SharedData.real().relativize(p).toString().replace('\\', '/'));
    }
}
