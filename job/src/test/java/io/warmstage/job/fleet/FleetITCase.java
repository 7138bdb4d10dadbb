package io.warmstage.job.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.testing.ReferenceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A fleet of 4 TaskManagers x 2 slots on one machine (each TaskManager a simulated host with its
 * own cache directory), one model placed on every slot, and a loopback origin that counts the bytes
 * it serves: per-target fetches the model 8 times, per-host 4 times, fan-out once, and every slot
 * reports every tensor with the reference's CRC-32C.
 */
class FleetITCase {
    static final int TASK_MANAGERS = 4;
    static final int SLOTS_PER_TM = 2;

    static Path modelDir;
    static Path index;
    static List<Path> shards;
    static long modelBytes;
    static Map<String, String> reference;
    static long indexBytes;

    @TempDir Path cacheDir;

    private long lastServed;

    @BeforeAll
    static synchronized void writeModel() throws Exception {
        if (index != null) {
            return;
        }
        // Under target/: rewritten (same seeded bytes) on every run.
        modelDir = Path.of("target", "fleet-model").toAbsolutePath();
        // ~15 MiB of BF16 in 3 shards: small enough for 8 slots, large enough for many splits
        index = DemoModel.write(modelDir, new DemoModel.Dims(2048, 512, 1408, 2, 8, 2), 4 << 20);
        try (Stream<Path> files = Files.list(modelDir)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        reference = new TreeMap<>();
        for (Path s : shards) {
            modelBytes += Files.size(s);
            reference.putAll(ReferenceReader.crcs(s));
        }
        indexBytes = Files.size(index);
        assertThat(shards).hasSizeGreaterThan(1);
    }

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @ParameterizedTest
    @EnumSource(FetchMode.class)
    void originServesOneCopyPerSlotPerHostOrForTheFleet(FetchMode mode) throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            run(mode, false, origin);
        }
    }

    /**
     * With the cache on, every simulated host ends with one verified copy of every shard; a slot
     * may read a shard another slot of its host already published, so the origin serves at most the
     * mode's copies.
     */
    @ParameterizedTest
    @EnumSource(
            value = FetchMode.class,
            names = {"PER_TARGET", "FAN_OUT"})
    void withTheCacheOnEveryHostHoldsOneVerifiedCopy(FetchMode mode) throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            run(mode, true, origin);
            // A second run finds every file in every host's cache: the origin serves no data.
            long before = origin.bytesServed();
            List<StagingEvent> again = run(mode, true, origin);
            lastServed = origin.bytesServed() - before;
            assertThat(lastServed)
                    .as("origin bytes of a run over warm caches")
                    .isLessThanOrEqualTo(indexBytes + shards.size() * 65_536L);
            assertThat(again.stream().filter(e -> StagingEvent.FILE.equals(e.event)))
                    .hasSize(shards.size() * TASK_MANAGERS * SLOTS_PER_TM)
                    .allMatch(e -> "hit".equals(e.cache) && "staged".equals(e.status));
            assertThat(again.stream().filter(e -> StagingEvent.CACHE.equals(e.event)))
                    .as("nothing written again")
                    .isEmpty();
        }
    }

    private List<StagingEvent> run(FetchMode mode, boolean cacheOn, LoopbackOrigin origin)
            throws Exception {
        List<StagingEvent> events = new ArrayList<>();
        long served;
        long servedBefore = origin.bytesServed();
        try (EmbeddedRunner runner =
                EmbeddedRunner.start(TASK_MANAGERS, SLOTS_PER_TM, new Configuration())) {
            Configuration conf = new Configuration();
            conf.set(FleetOptions.FETCH_MODE, mode.label());
            if (cacheOn) {
                conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
            }
            conf.setString(WeightSourceOptions.SPLIT_SIZE.key(), "1mb");
            int slots = TASK_MANAGERS * SLOTS_PER_TM;
            var queue = new ConcurrentLinkedQueue<StagingEvent>();
            runner.run(
                    List.of(
                            new ModelSpec(
                                    "llama",
                                    origin.uri(modelDir.relativize(index).toString()).toString())),
                    conf,
                    slots,
                    queue::add);
            events.addAll(queue);
            served = origin.bytesServed() - servedBefore;
        }
        int copies =
                switch (mode) {
                    case PER_TARGET -> TASK_MANAGERS * SLOTS_PER_TM;
                    case PER_HOST -> TASK_MANAGERS;
                    case FAN_OUT -> 1;
                };
        // Beyond the copies, the origin serves only what the enumerator reads once: the index
        // and each shard's header prefetch (64 KiB at most).
        lastServed = served;
        long planning = served - (long) copies * modelBytes;
        System.out.printf(
                "fetch mode %s, cache %s: origin served %d bytes = %.3fx the model (%d bytes)%n",
                mode.label(),
                cacheOn ? "on" : "off",
                served,
                served / (double) modelBytes,
                modelBytes);
        if (cacheOn) {
            assertThat(planning)
                    .as("origin bytes beyond %d copies", copies)
                    .isLessThanOrEqualTo(indexBytes + shards.size() * 65_536L);

        } else {
            assertThat(planning)
                    .as("origin bytes beyond %d copies", copies)
                    .isBetween(indexBytes, indexBytes + shards.size() * 65_536L);
        }

        // every slot staged every tensor with the reference's CRC-32C
        Map<Integer, Map<String, String>> bySlot = new TreeMap<>();
        Map<Integer, String> hostOfSlot = new TreeMap<>();
        for (StagingEvent e : events) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                bySlot.computeIfAbsent(e.slot, s -> new TreeMap<>()).put(e.tensor, e.crc32c);
            }
            if (StagingEvent.MODEL.equals(e.event)) {
                assertThat(e.status).isEqualTo("staged");
                hostOfSlot.put(e.slot, e.host);
            }
        }
        assertThat(bySlot).hasSize(TASK_MANAGERS * SLOTS_PER_TM);
        bySlot.values().forEach(crcs -> assertThat(crcs).isEqualTo(reference));
        assertThat(events.stream().filter(e -> StagingEvent.TENSOR.equals(e.event)))
                .as("each tensor once per slot")
                .hasSize(reference.size() * TASK_MANAGERS * SLOTS_PER_TM);
        assertThat(hostOfSlot.values().stream().distinct()).hasSize(TASK_MANAGERS);

        // each simulated host's cache holds one verified copy of every shard, nothing else
        for (int h = 0; cacheOn && h < TASK_MANAGERS; h++) {
            Path dir = cacheDir.resolve("host-" + h);
            assertThat(digests(dir)).as("cache of host-%d", h).isEqualTo(digests(modelDir));
        }
        return events;
    }

    /** SHA-256 of every .safetensors file directly in {@code dir}, sorted. */
    static List<String> digests(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                out.add(
                        HexFormat.of()
                                .formatHex(
                                        MessageDigest.getInstance("SHA-256")
                                                .digest(Files.readAllBytes(p))));
            }
        }
        out.sort(null);
        return out;
    }
}
