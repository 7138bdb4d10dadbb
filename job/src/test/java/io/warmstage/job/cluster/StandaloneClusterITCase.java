package io.warmstage.job.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.testing.ReferenceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Warmstage on a real standalone Flink cluster: one JobManager and two TaskManager processes with 2
 * slots each on one host (a network namespace of its own where the machine allows it, reached by
 * the JobManager and the origin over a veth link; else 127.0.0.1), the shaded job jar uploaded and
 * run through the REST API at parallelism 4 with the cache on, exactly as the README's cluster
 * section does. Every slot reports every tensor with the reference's CRC-32C (read from the report
 * the job writes with Flink's FileSink), the two TaskManager processes agree on one cache writer
 * per file, and the host's cache holds the origin's bytes. Last, a TaskManager process killed with
 * SIGKILL mid-run: the job restarts from its checkpoint on a replacement TaskManager and finishes
 * with the same checks. Then a refresh round: a manifest of two models with {@code refresh: 1s};
 * one model's file changes at the origin, every slot stages its new bytes while the other file is
 * not fetched again, and the job cancelled through REST frees every slot, after which every process
 * stops on SIGTERM.
 *
 * <p>Runs in the integration-test phase ({@code mvn verify}), after the shaded jar is built.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterITCase {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int SLOTS = 4;

    static Path jar;
    static StandaloneCluster cluster;
    static Path modelDir;
    static Path index;
    static List<Path> shards;
    static long modelBytes;
    static long indexBytes;
    static Map<String, String> reference = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        String j = System.getProperty("warmstage.job.jar", "");
        assumeTrue(
                !j.isEmpty() && Files.exists(Path.of(j)),
                "needs the shaded job jar: runs in the integration-test phase of mvn verify");
        jar = Path.of(j);
        Path target = Path.of("target").toAbsolutePath();
        modelDir = target.resolve("cluster-model");
        // ~15 MiB of BF16 in 3 shards, as the MiniCluster fleet tests
        index = DemoModel.write(modelDir, new DemoModel.Dims(2048, 512, 1408, 2, 8, 2), 4 << 20);
        try (Stream<Path> files = Files.list(modelDir)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        for (Path s : shards) {
            modelBytes += Files.size(s);
            reference.putAll(ReferenceReader.crcs(s));
        }
        indexBytes = Files.size(index);
        Path dir = target.resolve("cluster");
        deleteTree(dir);
        cluster =
                StandaloneCluster.start(
                        Path.of("..").toAbsolutePath().normalize(),
                        dir,
                        List.of(2),
                        2,
                        0,
                        Map.of(
                                "execution.checkpointing.interval", "1 s",
                                "heartbeat.interval", "1000",
                                "heartbeat.timeout", "10000",
                                "warmstage.source.split-size", "1mb"),
                        true);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void perTargetWithTheCacheOn() throws Exception {
        stageAndCheck("per-target", SLOTS);
    }

    @Test
    @Order(2)
    void fanOutWithTheCacheOn() throws Exception {
        stageAndCheck("fan-out", 1);
    }

    @Test
    @Order(3)
    void aTaskManagerProcessKilledMidRunIsReplacedAndTheJobFinishes() throws Exception {
        Path cache = cluster.hostLocal().resolve("cache-recovery");
        Path report = cluster.dir().resolve("report-recovery");
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir, cluster.originAddress())) {
            origin.throttle(512 << 10); // 512 KiB/s per response: the run spans checkpoints
            String job = submit(origin, "per-target", cache, report);
            awaitCompletedCheckpoints(job, 2);
            assertThat(origin.bytesServed())
                    .as("still staging when the TaskManager dies")
                    .isLessThan(SLOTS * modelBytes);
            Process victim = cluster.taskManagers().get(1);
            victim.destroyForcibly(); // SIGKILL
            assertThat(victim.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            origin.throttle(0);
            cluster.startTaskManager();
            assertThat(cluster.awaitEnd(job, Duration.ofMinutes(4))).isEqualTo("FINISHED");
            assertThat(
                            cluster.get("jobs/" + job + "/exceptions")
                                    .path("exceptionHistory")
                                    .path("entries")
                                    .size())
                    .as("the job failed over")
                    .isPositive();
            List<JsonNode> events = report(report);
            assertEveryTensorOnEverySlot(events);
            Map<String, Long> published = publishedPerFile(events);
            assertThat(published.values())
                    .as("published at most once per file")
                    .allMatch(n -> n == 1);
            assertThat(digests(cluster.hostDir(0).resolve("cache-recovery")))
                    .as("the host cache")
                    .isEqualTo(digests(modelDir));
        }
    }

    @Test
    @Order(4)
    void aRefreshRoundStagesTheChangedFileAgainAndCancellingStopsTheCluster() throws Exception {
        Path origin = cluster.dir().resolve("refresh-origin");
        DemoModel.Dims dims = new DemoModel.Dims(1024, 256, 704, 1, 8, 2);
        DemoModel.write(origin.resolve("a"), dims, 1L << 30);
        DemoModel.write(origin.resolve("b"), dims, 1L << 30);
        Path fileA = onlyShard(origin.resolve("a"));
        Path fileB = onlyShard(origin.resolve("b"));
        String pathA = "/a/" + fileA.getFileName();
        String pathB = "/b/" + fileB.getFileName();
        Map<String, String> oldB = ReferenceReader.crcs(fileB);
        Path report = cluster.dir().resolve("report-refresh");
        try (LoopbackOrigin server = LoopbackOrigin.serve(origin, cluster.originAddress())) {
            Path manifest = cluster.dir().resolve("refresh-manifest.yaml");
            Files.writeString(
                    manifest,
                    String.join(
                            "\n",
                            "device: cpu",
                            "fetchMode: per-target",
                            "refresh: 1s",
                            "models:",
                            "  - name: a",
                            "    uri: " + server.uri("a/model.safetensors.index.json"),
                            "  - name: b",
                            "    uri: " + server.uri("b/model.safetensors.index.json"),
                            ""));
            String job =
                    cluster.submit(
                            jar,
                            SLOTS,
                            List.of(
                                    "--manifest",
                                    manifest.toString(),
                                    "--report",
                                    report.toUri().toString()));
            awaitReport(
                    report,
                    events ->
                            modelsStaged(events, "a") == SLOTS
                                    && modelsStaged(events, "b") == SLOTS,
                    "a and b staged on every slot");
            assertThat(lastCrcs(report(report), "b"))
                    .hasSize(SLOTS)
                    .allSatisfy((slot, crcs) -> assertThat(crcs).isEqualTo(oldB));
            long servedA = server.bytesServed(pathA);
            long servedB = server.bytesServed(pathB);
            System.out.printf(
                    "cluster refresh: first version, origin served a %d, b %d bytes (file %d)%n",
                    servedA, servedB, Files.size(fileA));
            assertThat(servedA).isGreaterThanOrEqualTo(SLOTS * Files.size(fileA));

            // b changes at the origin: same size, other bytes, a new modification time
            replaceData(fileB);
            Map<String, String> newB = ReferenceReader.crcs(fileB);
            assertThat(newB).isNotEqualTo(oldB);
            awaitReport(
                    report,
                    events ->
                            modelsStaged(events, "b") == 2 * SLOTS
                                    && everySlotHas(events, "b", newB),
                    "b's new version staged on every slot");
            assertThat(modelsStaged(report(report), "a"))
                    .as("a staged once per slot")
                    .isEqualTo(SLOTS);
            // three more checkpoints, each after a refresh check or more: nothing else fetched
            int done =
                    cluster.get("jobs/" + job + "/checkpoints")
                            .path("counts")
                            .path("completed")
                            .asInt();
            awaitCompletedCheckpoints(job, done + 3);
            long againB = server.bytesServed(pathB) - servedB;
            System.out.printf(
                    "cluster refresh: after b changed, origin served a %d more, b %d more bytes%n",
                    server.bytesServed(pathA) - servedA, againB);
            assertThat(server.bytesServed(pathA))
                    .as("a unchanged: not one of its bytes fetched again")
                    .isEqualTo(servedA);
            assertThat(againB)
                    .as("b fetched again once by every slot")
                    .isBetween(SLOTS * Files.size(fileB), SLOTS * Files.size(fileB) + 65_536L);
            List<JsonNode> events = report(report);
            assertThat(modelsStaged(events, "b")).isEqualTo(2 * SLOTS);
            assertThat(events.stream().filter(e -> "model".equals(e.path("event").asText())))
                    .allMatch(e -> "staged".equals(e.path("status").asText()));

            cluster.cancel(job);
            assertThat(cluster.awaitEnd(job, Duration.ofMinutes(1))).isEqualTo("CANCELED");
            JsonNode overview = cluster.get("overview");
            assertThat(overview.path("slots-available").asInt())
                    .as("every slot free after the cancel")
                    .isEqualTo(overview.path("slots-total").asInt());
        }
        // every process of the cluster stops on SIGTERM
        List<Process> processes = cluster.processes();
        processes.forEach(Process::destroy);
        for (Process p : processes) {
            assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS))
                    .as("process %d stopped within 30 s of SIGTERM", p.pid())
                    .isTrue();
        }
    }

    private void stageAndCheck(String mode, int copies) throws Exception {
        Path cache = cluster.hostLocal().resolve("cache-" + mode);
        Path report = cluster.dir().resolve("report-" + mode);
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir, cluster.originAddress())) {
            String job = submit(origin, mode, cache, report);
            assertThat(cluster.awaitEnd(job, Duration.ofMinutes(3))).isEqualTo("FINISHED");
            long served = origin.bytesServed();
            System.out.printf(
                    "cluster %s: origin served %d bytes = %.3fx the model%n",
                    mode, served, served / (double) modelBytes);
            assertThat(served - copies * modelBytes)
                    .as("origin bytes beyond %d copies", copies)
                    .isLessThanOrEqualTo(indexBytes + shards.size() * 65_536L);

            List<JsonNode> events = report(report);
            assertEveryTensorOnEverySlot(events);
            assertThat(
                            events.stream()
                                    .filter(e -> "model".equals(e.path("event").asText()))
                                    .map(e -> e.path("host").asText())
                                    .distinct())
                    .as("one host: two TaskManager processes on %s", cluster.hostAddress(0))
                    .hasSize(1);
            assertThat(publishedPerFile(events))
                    .as("one cache writer per host and file")
                    .hasSize(shards.size())
                    .allSatisfy((file, n) -> assertThat(n).isEqualTo(1));
            assertThat(digests(cluster.hostDir(0).resolve("cache-" + mode)))
                    .as("the host cache")
                    .isEqualTo(digests(modelDir));

            Map<String, Long> totals = accumulators(job);
            assertThat(totals)
                    .containsEntry("warmstage.tensors", (long) reference.size() * SLOTS)
                    .containsEntry("warmstage.filesStaged", (long) shards.size() * SLOTS)
                    .containsEntry("warmstage.filesFailed", 0L)
                    .containsEntry("warmstage.bytes", modelBytes * SLOTS);
        }
    }

    private static String submit(LoopbackOrigin origin, String mode, Path cache, Path report)
            throws Exception {
        String uri = origin.uri(modelDir.relativize(index).toString()).toString();
        return cluster.submit(
                jar,
                SLOTS,
                List.of(
                        "--model",
                        uri,
                        "--device",
                        "cpu",
                        "--fetch-mode",
                        mode,
                        "--cache-dir",
                        cache.toString(),
                        "--report",
                        report.toUri().toString()));
    }

    private static void assertEveryTensorOnEverySlot(List<JsonNode> events) {
        Map<Integer, Map<String, String>> bySlot = new TreeMap<>();
        long tensors = 0;
        for (JsonNode e : events) {
            if ("tensor".equals(e.path("event").asText())) {
                tensors++;
                bySlot.computeIfAbsent(e.path("slot").asInt(), s -> new TreeMap<>())
                        .put(e.path("tensor").asText(), e.path("crc32c").asText());
            }
        }
        assertThat(bySlot).hasSize(SLOTS);
        bySlot.values().forEach(crcs -> assertThat(crcs).isEqualTo(reference));
        assertThat(tensors)
                .as("each tensor once per slot")
                .isEqualTo((long) reference.size() * SLOTS);
        assertThat(events.stream().filter(e -> "model".equals(e.path("event").asText())))
                .hasSize(SLOTS)
                .allMatch(e -> "staged".equals(e.path("status").asText()));
    }

    static Map<String, Long> publishedPerFile(List<JsonNode> events) {
        return events.stream()
                .filter(e -> "cache".equals(e.path("event").asText()))
                .filter(e -> "published".equals(e.path("status").asText()))
                .collect(
                        Collectors.groupingBy(e -> e.path("file").asText(), Collectors.counting()));
    }

    /** The events of the report's finished part files (in-progress files are hidden). */
    static List<JsonNode> report(Path dir) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    out.add(JSON.readTree(line));
                }
            }
        }
        return out;
    }

    private static Map<String, Long> accumulators(String job) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        cluster.get("jobs/" + job + "/accumulators")
                .path("user-task-accumulators")
                .forEach(a -> out.put(a.path("name").asText(), a.path("value").asLong()));
        return out;
    }

    private static void awaitCompletedCheckpoints(String job, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (cluster.get("jobs/" + job + "/checkpoints").path("counts").path("completed").asInt()
                    >= n) {
                return;
            }
            Thread.sleep(100); // polling interval of a wait with a deadline
        }
        throw new AssertionError(n + " checkpoints did not complete within 90 s");
    }

    private static long modelsStaged(List<JsonNode> events, String model) {
        return events.stream()
                .filter(e -> "model".equals(e.path("event").asText()))
                .filter(e -> model.equals(e.path("model").asText()))
                .filter(e -> "staged".equals(e.path("status").asText()))
                .count();
    }

    /** Whether every slot reported every tensor of {@code model} with the given CRC-32C. */
    private static boolean everySlotHas(
            List<JsonNode> events, String model, Map<String, String> crcs) {
        Map<Integer, Map<String, java.util.Set<String>>> seen = new TreeMap<>();
        for (JsonNode e : events) {
            if ("tensor".equals(e.path("event").asText())
                    && model.equals(e.path("model").asText())) {
                seen.computeIfAbsent(e.path("slot").asInt(), s -> new TreeMap<>())
                        .computeIfAbsent(e.path("tensor").asText(), t -> new java.util.HashSet<>())
                        .add(e.path("crc32c").asText());
            }
        }
        return seen.size() == SLOTS
                && seen.values().stream()
                        .allMatch(
                                bySlot ->
                                        crcs.entrySet().stream()
                                                .allMatch(
                                                        c ->
                                                                bySlot.getOrDefault(
                                                                                c.getKey(),
                                                                                java.util.Set.of())
                                                                        .contains(c.getValue())));
    }

    /** Per slot, the CRC-32C of each tensor of {@code model} (one version staged so far). */
    private static Map<Integer, Map<String, String>> lastCrcs(List<JsonNode> events, String model) {
        Map<Integer, Map<String, String>> out = new TreeMap<>();
        for (JsonNode e : events) {
            if ("tensor".equals(e.path("event").asText())
                    && model.equals(e.path("model").asText())) {
                out.computeIfAbsent(e.path("slot").asInt(), s -> new TreeMap<>())
                        .put(e.path("tensor").asText(), e.path("crc32c").asText());
            }
        }
        return out;
    }

    /** Waits (60 s at most) until the report's published events satisfy {@code done}. */
    private static void awaitReport(
            Path report, java.util.function.Predicate<List<JsonNode>> done, String what)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<JsonNode> events = List.of();
        while (System.nanoTime() < deadline) {
            events = Files.exists(report) ? report(report) : List.of();
            if (done.test(events)) {
                return;
            }
            Thread.sleep(200); // polling interval of a wait with a deadline
        }
        throw new AssertionError(
                "not within 60 s: "
                        + what
                        + "; published events other than tensors: "
                        + events.stream()
                                .filter(e -> !"tensor".equals(e.path("event").asText()))
                                .toList());
    }

    private static Path onlyShard(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> shards = files.filter(p -> p.toString().endsWith(".safetensors")).toList();
            assertThat(shards).hasSize(1);
            return shards.get(0);
        }
    }

    /**
     * Replaces {@code file} at once with a copy whose data section has other bytes (the header and
     * the size kept) and whose modification time is a minute later.
     */
    private static void replaceData(Path file) throws Exception {
        Path tmp = file.resolveSibling(".replacement");
        Files.copy(file, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(tmp.toFile(), "rw")) {
            long start = 8 + Long.reverseBytes(f.readLong());
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
                tmp,
                java.nio.file.attribute.FileTime.fromMillis(
                        Files.getLastModifiedTime(file).toMillis() + 60_000));
        Files.move(
                tmp,
                file,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
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

    static void deleteTree(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
