package io.warmstage.job.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TaskManager of a 4 x 2 fleet is killed while the model is being staged: the job restores from
 * its last checkpoint on a replacement TaskManager and finishes; every slot then reports every
 * tensor exactly once with the reference's CRC-32C, every file under a final name in any host's
 * cache (the lost host's included) is byte-identical to the origin's, and every surviving host's
 * cache holds the whole model. Without a cache, the origin traffic after the kill is the
 * replacement's copy and what the survivors' staging files did not hold.
 */
class FleetRecoveryITCase {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path cacheDir;
    @TempDir Path stagingDir;

    @BeforeAll
    static void model() throws Exception {
        FleetITCase.writeModel();
    }

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @Test
    void aTaskManagerKilledMidRunIsReplacedAndTheChecksStillHold() throws Exception {
        killATaskManager(true, FetchMode.PER_HOST);
    }

    /**
     * Fan-out with the host relay (the default): the killed host's relays and slots are restored
     * with the rest, and every slot still stages every tensor exactly once with the reference's
     * CRC-32C, every survivor's cache holding the whole model.
     */
    @Test
    void aTaskManagerKilledDuringARelayedFanOutIsReplacedAndTheChecksStillHold() throws Exception {
        killATaskManager(true, FetchMode.FAN_OUT);
    }

    /**
     * Without a cache only the staging files of the survivors hold what they staged since the
     * checkpoint: their readers read it again from there, so after the kill the origin serves the
     * replacement host's copy and what the survivors did not hold, not everything again.
     */
    @Test
    void survivorsReadWhatTheirStagingFilesHoldAgainNotTheOrigin() throws Exception {
        killATaskManager(false, FetchMode.PER_HOST);
    }

    /**
     * @param mode per-host (each host fetches the model: the kill comes after 2 of the 4 copies) or
     *     fan-out (one copy for the fleet, fetched more slowly: the kill comes after half of it)
     */
    private void killATaskManager(boolean cacheOn, FetchMode mode) throws Exception {
        boolean fanOut = mode == FetchMode.FAN_OUT;
        long killAfter = fanOut ? FleetITCase.modelBytes / 2 : 2 * FleetITCase.modelBytes;
        long fetchedInAll = fanOut ? FleetITCase.modelBytes : 4 * FleetITCase.modelBytes;
        int slots = FleetITCase.TASK_MANAGERS * FleetITCase.SLOTS_PER_TM;
        var events = new ConcurrentLinkedQueue<StagingEvent>();
        long served;
        long killedAt;
        String killed;
        try (LoopbackOrigin origin = LoopbackOrigin.serve(FleetITCase.modelDir);
                EmbeddedRunner runner =
                        EmbeddedRunner.start(
                                FleetITCase.TASK_MANAGERS,
                                FleetITCase.SLOTS_PER_TM,
                                new Configuration())) {
            // per response, still staging at the kill: per-host, 2 MiB/s; fan-out, where the 8
            // readers fetch one copy between them with up to 32 ranges in flight, 96 KiB/s
            origin.throttle(fanOut ? 96 << 10 : 2 << 20);
            Configuration conf = new Configuration();
            conf.set(FleetOptions.FETCH_MODE, mode.label());
            if (cacheOn) {
                conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
            }
            // staging files a lost (simulated) host kept for a restore stay in the test's directory
            conf.set(io.warmstage.staging.StagingOptions.STAGING_DIR, stagingDir.toString());
            conf.setString(WeightSourceOptions.SPLIT_SIZE.key(), "1mb");
            // A checkpoint taken early (triggered below) and the next one 30 s later: what the
            // slots stage in between is on the survivors when the TaskManager dies, and the
            // restore replays all of it.
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(30));
            conf.set(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS, Duration.ofSeconds(30));
            String uri =
                    origin.uri(FleetITCase.modelDir.relativize(FleetITCase.index).toString())
                            .toString();
            CompletableFuture<Double> run =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    return runner.run(
                                            List.of(new ModelSpec("llama", uri)),
                                            conf,
                                            slots,
                                            events::add);
                                } catch (Exception e) {
                                    throw new IllegalStateException(e);
                                }
                            });
            JobID job = awaitJob(runner);
            checkpoint(runner.webUi(), job);
            long checkpointed = origin.bytesServed();
            // Half of what the run fetches in all, staged after the checkpoint.
            awaitServed(origin, killAfter);
            long before = origin.bytesServed();
            assertThat(before)
                    .as("still staging when the TaskManager dies")
                    .isLessThan(fetchedInAll);
            origin.throttle(0);
            java.util.Set<String> alive = taskManagers(runner.webUi());
            runner.cluster().terminateTaskManager(1).get(60, TimeUnit.SECONDS);
            killedAt = origin.bytesServed();
            System.out.printf(
                    "recovery: origin served %.3fx the model at the checkpoint, %.3fx when the"
                            + " TaskManager was gone%n",
                    checkpointed / (double) FleetITCase.modelBytes,
                    killedAt / (double) FleetITCase.modelBytes);
            alive.removeAll(taskManagers(runner.webUi()));
            assertThat(alive).hasSize(1);
            killed = runner.simulatedHosts().get(alive.iterator().next());
            runner.cluster().startTaskManager();
            run.get(4, TimeUnit.MINUTES);
            assertThat(restarts(runner.webUi(), job)).as("the job failed over").isPositive();
            served = origin.bytesServed();
        }
        System.out.printf(
                "recovery (cache %s): origin served %.3fx the model in all (%s, 4 hosts),"
                        + " %.3fx after the TaskManager was gone%n",
                cacheOn ? "on" : "off",
                served / (double) FleetITCase.modelBytes,
                mode.label(),
                (served - killedAt) / (double) FleetITCase.modelBytes);
        if (!cacheOn) {
            // After the kill the replacement host fetches the whole model and the 3 survivors
            // what their staging files did not hold: 2.2-2.9x here. Refetching everything staged
            // since the checkpoint (each survivor's whole model again) is 4.0x.
            assertThat(served - killedAt)
                    .as("origin bytes after the TaskManager was gone")
                    .isLessThan((long) (3.5 * FleetITCase.modelBytes));
        }

        events.stream()
                .filter(
                        e ->
                                StagingEvent.CACHE.equals(e.event)
                                        || StagingEvent.FILE.equals(e.event))
                .forEach(
                        e ->
                                System.out.println(
                                        "EVENT " + e.event + " " + e.slot + " " + e.host + " "
                                                + e.file + " " + e.status + " " + e.cache + " "
                                                + e.reason));
        Map<Integer, Map<String, String>> bySlot = new TreeMap<>();
        int tensorEvents = 0;
        int staged = 0;
        for (StagingEvent e : events) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                tensorEvents++;
                bySlot.computeIfAbsent(e.slot, s -> new TreeMap<>()).put(e.tensor, e.crc32c);
            }
            if (StagingEvent.MODEL.equals(e.event)) {
                assertThat(e.status).isEqualTo("staged");
                staged++;
            }
        }
        assertThat(staged).as("one model event per slot").isEqualTo(slots);
        assertThat(bySlot).hasSize(slots);
        bySlot.values().forEach(crcs -> assertThat(crcs).isEqualTo(FleetITCase.reference));
        assertThat(tensorEvents)
                .as("each tensor reported once per slot")
                .isEqualTo(FleetITCase.reference.size() * slots);

        if (!cacheOn) {
            return;
        }
        // No host's cache holds a file under a final name that differs from the origin's.
        List<String> origin = FleetITCase.digests(FleetITCase.modelDir);
        List<Path> hostDirs = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(cacheDir)) {
            dirs.filter(Files::isDirectory).forEach(hostDirs::add);
        }
        assertThat(hostDirs).isNotEmpty();
        for (Path dir : hostDirs) {
            assertThat(origin)
                    .as("cache of %s", dir.getFileName())
                    .containsAll(FleetITCase.digests(dir));
        }
        for (String survivor : List.of("host-0", "host-1", "host-2", "host-3")) {
            if (survivor.equals(killed)) {
                continue; // its cache holds what it published before it went
            }
            assertThat(FleetITCase.digests(cacheDir.resolve(survivor)))
                    .as("cache of %s", survivor)
                    .isEqualTo(origin);
        }
    }

    private static JobID awaitJob(EmbeddedRunner runner) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            JobID id = runner.currentJob();
            if (id != null) {
                return id;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no job started");
    }

    private static JsonNode get(URI webUi, String path) throws Exception {
        HttpResponse<String> r =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(webUi.resolve(path)).build(),
                                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    /**
     * Triggers a checkpoint through the REST API until one completes (the job may still be
     * deploying), reading each trigger's result: the REST endpoint holds results nobody read at
     * shutdown.
     */
    private static void checkpoint(URI webUi, JobID job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String body =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(
                                                    webUi.resolve("/jobs/" + job + "/checkpoints"))
                                            .header("Content-Type", "application/json")
                                            .POST(HttpRequest.BodyPublishers.ofString("{}"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body();
            String trigger = JSON.readTree(body).path("request-id").asText();
            JsonNode result;
            do {
                Thread.sleep(50);
                result = get(webUi, "/jobs/" + job + "/checkpoints/" + trigger);
            } while ("IN_PROGRESS".equals(result.path("status").path("id").asText())
                    && System.nanoTime() < deadline);
            if (result.path("operation").has("checkpointId")) {
                return;
            }
        }
        throw new AssertionError("no checkpoint completed within 60 s");
    }

    private static void awaitServed(LoopbackOrigin origin, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (origin.bytesServed() < bytes) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "origin served " + origin.bytesServed() + " of " + bytes + " in 120 s");
            }
            Thread.sleep(20);
        }
    }

    /** Resource IDs of the registered TaskManagers. */
    private static java.util.Set<String> taskManagers(URI webUi) throws Exception {
        java.util.Set<String> ids = new java.util.HashSet<>();
        get(webUi, "/taskmanagers")
                .path("taskmanagers")
                .forEach(t -> ids.add(t.path("id").asText()));
        return ids;
    }

    private static int restarts(URI webUi, JobID job) throws Exception {
        return get(webUi, "/jobs/" + job + "/exceptions")
                .path("exceptionHistory")
                .path("entries")
                .size();
    }
}
