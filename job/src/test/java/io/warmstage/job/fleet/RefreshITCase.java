package io.warmstage.job.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.ManifestCatalog;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.testing.ReferenceReader;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A refreshing job (unbounded) over a manifest of two models on two slots: when one model's file
 * changes at the origin, only that model is fetched again, and its new tensors carry the new file's
 * checksums; when a model leaves the manifest, each slot releases its device memory.
 */
class RefreshITCase {
    @TempDir Path origin;

    private final ConcurrentLinkedQueue<StagingEvent> events = new ConcurrentLinkedQueue<>();

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @Test
    void onlyTheChangedModelIsFetchedAgainAndARemovedModelIsReleased() throws Exception {
        DemoModel.Dims dims = new DemoModel.Dims(1024, 256, 704, 1, 8, 2);
        DemoModel.write(origin.resolve("a"), dims, 1L << 30);
        DemoModel.write(origin.resolve("b"), dims, 1L << 30);
        Path shardA = shard(origin.resolve("a"));
        Path shardB = shard(origin.resolve("b"));
        Path manifest = origin.resolve("manifest.yaml");
        try (LoopbackOrigin server = LoopbackOrigin.serve(origin);
                EmbeddedRunner runner = EmbeddedRunner.start(1, 2, new Configuration())) {
            String a = server.uri("a/model.safetensors.index.json").toString();
            String b = server.uri("b/model.safetensors.index.json").toString();
            writeManifest(manifest, Map.of("a", a, "b", b));
            Configuration conf = new Configuration();
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(300));
            CompletableFuture<Double> run =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    return runner.run(
                                            new ManifestCatalog(manifest).models(),
                                            conf,
                                            2,
                                            events::add,
                                            new CountingCatalog(manifest),
                                            Duration.ofSeconds(1));
                                } catch (Exception e) {
                                    throw new IllegalStateException(e);
                                }
                            });
            await(e -> isModel(e, "a", "staged"), 2);
            await(e -> isModel(e, "b", "staged"), 2);
            long fetchedA = server.bytesServed("/a/" + shardA.getFileName());
            long fetchedB = server.bytesServed("/b/" + shardB.getFileName());
            assertThat(fetchedA).isGreaterThanOrEqualTo(2 * Files.size(shardA));

            // b changes at the origin: same size, other bytes, a new modification time
            rewriteData(shardB);
            Map<String, String> newB = ReferenceReader.crcs(shardB);
            await(e -> isModel(e, "b", "staged"), 4);
            assertThat(server.bytesServed("/b/" + shardB.getFileName()) - fetchedB)
                    .as("b fetched again by both slots")
                    .isGreaterThanOrEqualTo(2 * Files.size(shardB));
            awaitCatalogReads(3); // two whole refreshes after b's: a would have been fetched
            assertThat(server.bytesServed("/a/" + shardA.getFileName()))
                    .as("a unchanged: not one of its bytes fetched again")
                    .isEqualTo(fetchedA);
            Map<Integer, Map<String, String>> lastB = new TreeMap<>();
            for (StagingEvent e : events) {
                if (StagingEvent.TENSOR.equals(e.event) && "b".equals(e.model)) {
                    lastB.computeIfAbsent(e.slot, s -> new TreeMap<>()).put(e.tensor, e.crc32c);
                }
            }
            assertThat(lastB).hasSize(2);
            lastB.values().forEach(crcs -> assertThat(crcs).isEqualTo(newB));

            // a leaves the manifest: both slots release it
            writeManifest(manifest, Map.of("b", b));
            await(e -> StagingEvent.RELEASE.equals(e.event) && "a".equals(e.model), 2);
            long dataA = Files.size(shardA) - headerEnd(shardA);
            assertThat(
                            events.stream()
                                    .filter(e -> StagingEvent.RELEASE.equals(e.event))
                                    .mapToLong(e -> e.bytes))
                    .allMatch(bytes -> bytes == dataA);
            assertThat(ResidentSet.entries()).noneMatch(en -> en.model().equals("a"));

            // b moves to one slot: the other lets it go
            writeManifest(manifest, Map.of("b", b + "\n    placement: {replicas: 1}"));
            await(e -> StagingEvent.RELEASE.equals(e.event) && "b".equals(e.model), 1);
            // a manifest naming one file twice is refused: the job keeps what it has
            writeManifest(manifest, Map.of("b", b, "b2", b));
            awaitCatalogReads(3); // the refused manifest read, and two refreshes after it
            assertThat(
                            events.stream()
                                    .filter(
                                            e ->
                                                    StagingEvent.MODEL.equals(e.event)
                                                            && "b2".equals(e.model)))
                    .isEmpty();

            JobID job = runner.currentJob();
            runner.cluster().cancelJob(job).get(30, TimeUnit.SECONDS);
            run.handle((v, t) -> null).get(60, TimeUnit.SECONDS);
        }
    }

    private static boolean isModel(StagingEvent e, String model, String status) {
        return StagingEvent.MODEL.equals(e.event)
                && model.equals(e.model)
                && status.equals(e.status);
    }

    /**
     * Waits until the job has read the manifest {@code more} times after this call: a refresh reads
     * the catalog first, so the refreshes before the last of those reads have ended.
     */
    private static void awaitCatalogReads(int more) throws InterruptedException {
        long target = CountingCatalog.READS.get() + more;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (CountingCatalog.READS.get() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "the manifest was read "
                                + CountingCatalog.READS.get()
                                + " times, not "
                                + target
                                + ", within 60 s");
            }
            Thread.sleep(20); // polling interval of a wait with a deadline
        }
    }

    /**
     * The manifest catalog, counting its reads. The enumerator runs in this JVM (a MiniCluster), so
     * a static counter sees its reads.
     */
    private static final class CountingCatalog implements io.warmstage.source.ModelCatalog {
        static final java.util.concurrent.atomic.AtomicLong READS =
                new java.util.concurrent.atomic.AtomicLong();
        private static final long serialVersionUID = 1L;
        private final ManifestCatalog manifest;

        CountingCatalog(Path manifest) {
            this.manifest = new ManifestCatalog(manifest);
        }

        @Override
        public java.util.List<io.warmstage.plan.ModelSpec> models() {
            try {
                return manifest.models();
            } finally {
                READS.incrementAndGet();
            }
        }
    }

    private void await(Predicate<StagingEvent> p, int count) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            if (events.stream().filter(p).count() >= count) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "fewer than "
                        + count
                        + " matching events within 60 s: "
                        + events.stream()
                                .filter(e -> !StagingEvent.TENSOR.equals(e.event))
                                .toList());
    }

    private static Path shard(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".safetensors"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    private static long headerEnd(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            return 8 + Long.reverseBytes(f.readLong());
        }
    }

    /** Overwrites the data section with other bytes, keeping the header and the size. */
    private static void rewriteData(Path file) throws Exception {
        long start = headerEnd(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] data = new byte[(int) (f.length() - start)];
            f.seek(start);
            f.readFully(data);
            for (int i = 0; i < data.length; i++) {
                data[i] ^= 0x5a;
            }
            f.seek(start);
            f.write(data);
        }
        Files.setLastModifiedTime(
                file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 60_000));
    }

    private static void writeManifest(Path manifest, Map<String, String> models) throws Exception {
        StringBuilder y = new StringBuilder("models:\n");
        new TreeMap<>(models)
                .forEach(
                        (name, uri) ->
                                y.append("  - name: ")
                                        .append(name)
                                        .append("\n    uri: ")
                                        .append(uri)
                                        .append('\n'));
        Path tmp = manifest.resolveSibling("manifest.tmp");
        Files.writeString(tmp, y);
        Files.move(
                tmp,
                manifest,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
