package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.cache.LocalCache;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.ReferenceReader;
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
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Stages the real files of ../shared/data through the whole job on a MiniCluster. */
class StagingPipelineITCase {
    @RegisterExtension
    static final MiniClusterExtension MINI =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @TempDir Path cacheDir;

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    /** Every valid real file as its own model, plus the sharded set through its index. */
    static List<Path> singleFiles() {
        return SharedData.validFiles().stream()
                .filter(p -> !p.startsWith(SharedData.sharded()))
                .toList();
    }

    static List<Path> allFiles() {
        return SharedData.validFiles();
    }

    static List<ModelSpec> models(java.util.function.Function<Path, String> uri) {
        List<ModelSpec> models = new ArrayList<>();
        for (Path p : singleFiles()) {
            models.add(new ModelSpec(p.getFileName().toString(), uri.apply(p)));
        }
        models.add(
                new ModelSpec(
                        "sharded",
                        uri.apply(SharedData.sharded().resolve("model.safetensors.index.json"))));
        return models;
    }

    static List<StagingEvent> run(List<ModelSpec> models, Configuration conf, int slots)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        List<StagingEvent> events = new ArrayList<>();
        try (CloseableIterator<StagingEvent> it =
                StagingPipeline.build(env, models, conf, slots).executeAndCollect()) {
            it.forEachRemaining(events::add);
        }
        return events;
    }

    private Configuration conf(boolean cache) {
        Configuration conf = new Configuration();
        conf.set(StagingOptions.KEEP_RESIDENT, true);
        conf.set(
                WeightSourceOptions.SPLIT_SIZE,
                org.apache.flink.configuration.MemorySize.parse("64kb"));
        conf.set(
                WeightSourceOptions.RECORD_SIZE,
                org.apache.flink.configuration.MemorySize.parse("16kb"));
        if (cache) {
            conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
        }
        return conf;
    }

    @Test
    void stagesEveryRealFileOverFileUrisAndASecondRunHitsTheCache() throws Exception {
        List<ModelSpec> models = models(p -> p.toUri().toString());
        List<StagingEvent> first = run(models, conf(true), 1);
        assertStagedExactly(first, p -> p.toUri().toString(), 1);
        assertThat(files(first)).allMatch(e -> e.cache.equals("miss"));
        assertCacheHoldsOrigins(p -> p.toUri());
        ResidentSet.releaseAll();

        List<StagingEvent> second = run(models, conf(true), 1);
        assertStagedExactly(second, p -> p.toUri().toString(), 1);
        assertThat(files(second)).allMatch(e -> e.cache.equals("hit"));
        assertThat(second).noneMatch(e -> e.event.equals(StagingEvent.CACHE));
    }

    @Test
    void stagesEveryRealFileOverHttpAndASecondRunFetchesNothing() throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(SharedData.real())) {
            java.util.function.Function<Path, String> uri =
                    p -> origin.uri(SharedData.real().relativize(p).toString()).toString();
            List<ModelSpec> models = models(uri);
            List<StagingEvent> first = run(models, conf(true), 1);
            assertStagedExactly(first, uri, 1);
            long total = 0;
            for (Path p : allFiles()) {
                total += Files.size(p);
            }
            assertThat(origin.bytesServed()).isGreaterThanOrEqualTo(total);
            assertCacheHoldsOrigins(p -> URI.create(uri.apply(p)));
            ResidentSet.releaseAll();

            long before = origin.bytesServed();
            List<StagingEvent> second = run(models, conf(true), 1);
            assertStagedExactly(second, uri, 1);
            assertThat(files(second)).allMatch(e -> e.cache.equals("hit"));
            // only the index.json is fetched again; no shard or file byte comes from the origin
            long index = Files.size(SharedData.sharded().resolve("model.safetensors.index.json"));
            assertThat(origin.bytesServed() - before).isEqualTo(index);
        }
    }

    @Test
    void everySlotHoldsEveryModelAndOneWriterPerHostFillsTheCache() throws Exception {
        List<ModelSpec> models = models(p -> p.toUri().toString());
        List<StagingEvent> events = run(models, conf(true), 2);
        assertStagedExactly(events, p -> p.toUri().toString(), 2);
        List<StagingEvent> published =
                events.stream().filter(e -> e.event.equals(StagingEvent.CACHE)).toList();
        assertThat(published)
                .allSatisfy(
                        e ->
                                assertThat(e.status)
                                        .as("slot %d: %s: %s", e.slot, e.file, e.reason)
                                        .isEqualTo("published"));
        assertThat(published).hasSize(allFiles().size());
    }

    @Test
    void malformedFilesFailAloneAndNothingOfThemReachesTheCache() throws Exception {
        Path good =
                SharedData.real().resolve("huggingface_safetensors__samples__overall.safetensors");
        List<ModelSpec> models = new ArrayList<>();
        models.add(new ModelSpec("good", good.toUri().toString()));
        for (Path bad : SharedData.malformedFiles()) {
            models.add(new ModelSpec(bad.getFileName().toString(), bad.toUri().toString()));
        }
        List<StagingEvent> events = run(models, conf(true), 1);

        Map<String, StagingEvent> byModel =
                events.stream()
                        .filter(e -> e.event.equals(StagingEvent.MODEL))
                        .collect(Collectors.toMap(e -> e.model, e -> e));
        assertThat(byModel.get("good").status).isEqualTo("staged");
        List<StagingEvent> failed =
                files(events).stream().filter(e -> e.status.equals("failed")).toList();
        assertThat(failed).hasSize(2);
        assertThat(failed).anySatisfy(e -> assertThat(e.reason).contains("Git LFS pointer"));
        assertThat(failed).anySatisfy(e -> assertThat(e.reason).contains("88"));
        assertThat(byModel.values().stream().filter(e -> e.status.equals("failed"))).hasSize(2);
        try (Stream<Path> s = Files.list(cacheDir)) {
            List<String> names =
                    s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
            String key = LocalCache.key(good.toUri(), stat(good.toUri()));
            assertThat(names).containsExactlyInAnyOrder(key + ".safetensors", key + ".entry.json");
        }
    }

    private static List<StagingEvent> files(List<StagingEvent> events) {
        return events.stream().filter(e -> e.event.equals(StagingEvent.FILE)).toList();
    }

    /** Every file staged on every slot, tensor checksums and device bytes equal the origin's. */
    private static void assertStagedExactly(
            List<StagingEvent> events, java.util.function.Function<Path, String> uri, int slots)
            throws Exception {
        assertThat(files(events))
                .allSatisfy(
                        e -> assertThat(e.status).as(e.file + ": " + e.reason).isEqualTo("staged"));
        assertThat(files(events)).hasSize(allFiles().size() * slots);
        for (Path p : allFiles()) {
            String u = uri.apply(p);
            Map<String, String> expected = ReferenceReader.crcs(p);
            for (int slot = 0; slot < slots; slot++) {
                final int s = slot;
                Map<String, String> got = new HashMap<>();
                events.stream()
                        .filter(
                                e ->
                                        e.event.equals(StagingEvent.TENSOR)
                                                && e.file.equals(u)
                                                && e.slot == s)
                        .forEach(e -> got.put(e.tensor, e.crc32c));
                assertThat(got)
                        .as("tensor checksums of %s on slot %d", p.getFileName(), s)
                        .isEqualTo(expected);
                ResidentSet.Entry entry = ResidentSet.get(s, u);
                assertThat(entry).as("resident %s on slot %d", u, s).isNotNull();
                ByteBuffer dev = ByteBuffer.allocate((int) entry.data().size());
                entry.data().copyToHost(0, dev);
                assertThat(dev.array())
                        .as("device bytes of %s", p.getFileName())
                        .isEqualTo(ReferenceReader.dataSection(p));
            }
        }
    }

    private void assertCacheHoldsOrigins(java.util.function.Function<Path, URI> uri)
            throws Exception {
        LocalCache cache = new LocalCache(cacheDir);
        for (Path p : allFiles()) {
            URI u = uri.apply(p);
            Optional<Path> entry = cache.lookup(u, stat(u));
            assertThat(entry).as("cache entry of %s", u).isPresent();
            assertThat(Files.readAllBytes(entry.get())).isEqualTo(Files.readAllBytes(p));
        }
    }

    private static ObjectVersion stat(URI u) throws Exception {
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            return stores.forUri(u).stat(u);
        }
    }
}
