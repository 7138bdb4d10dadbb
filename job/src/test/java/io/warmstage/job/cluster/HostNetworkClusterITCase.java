package io.warmstage.job.cluster;

import static io.warmstage.job.cluster.StandaloneClusterITCase.deleteTree;
import static io.warmstage.job.cluster.StandaloneClusterITCase.digests;
import static io.warmstage.job.cluster.StandaloneClusterITCase.publishedPerFile;
import static io.warmstage.job.cluster.StandaloneClusterITCase.report;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.testing.ReferenceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Warmstage on a real standalone cluster whose hosts are separate network namespaces: host 0 runs
 * two TaskManager processes with 1 slot each, host 1 one TaskManager with 1 slot, each host with
 * its own address on a private bridge and its own local disk (so its own cache); the JobManager and
 * the origin are on the bridge's address in the root namespace. Every byte a host's slots stage
 * arrives over its veth link, and the kernel's counters of those links show where it came from:
 * {@code fan-out} sends each range from the one host that fetched it to the other host's slots (the
 * hosts send each other at least one copy of the model in all, the origin serves one), {@code
 * per-host} keeps each host's copies inside it (the origin serves one copy per host, the hosts send
 * each other next to nothing). Either way every slot reports every tensor with the reference's
 * CRC-32C and each host caches each file once, with the origin's bytes.
 *
 * <p>Needs root and {@code ip netns}; elsewhere it is skipped (the cause printed), and {@link
 * StandaloneClusterITCase} runs on 127.0.0.1.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostNetworkClusterITCase {
    static final int SLOTS = 3;

    static Path jar;
    static StandaloneCluster cluster;
    static Path modelDir;
    static Path index;
    static List<Path> shards;
    static long modelBytes;
    static Map<String, String> reference = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        String j = System.getProperty("warmstage.job.jar", "");
        assumeTrue(
                !j.isEmpty() && Files.exists(Path.of(j)),
                "needs the shaded job jar: runs in the integration-test phase of mvn verify");
        if (!HostNetwork.supported()) {
            System.out.println(
                    "HostNetworkClusterITCase skipped: network namespaces unavailable ("
                            + HostNetwork.whyUnsupported()
                            + "); StandaloneClusterITCase runs every TaskManager on 127.0.0.1");
        }
        assumeTrue(HostNetwork.supported(), "network namespaces unavailable");
        jar = Path.of(j);
        Path target = Path.of("target").toAbsolutePath();
        modelDir = target.resolve("netns-model");
        index = DemoModel.write(modelDir, new DemoModel.Dims(2048, 512, 1408, 2, 8, 2), 4 << 20);
        try (Stream<Path> files = Files.list(modelDir)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        for (Path s : shards) {
            modelBytes += Files.size(s);
            reference.putAll(ReferenceReader.crcs(s));
        }
        Path dir = target.resolve("cluster-netns");
        deleteTree(dir);
        // host 0: two TaskManager processes x 1 slot; host 1: one TaskManager x 1 slot
        cluster =
                StandaloneCluster.start(
                        Path.of("..").toAbsolutePath().normalize(),
                        dir,
                        List.of(2, 1),
                        1,
                        0,
                        Map.of("warmstage.source.split-size", "1mb"),
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
    void fanOutSendsEachRangeAcrossTheVethNetworkToTheOtherHost() throws Exception {
        Map<String, long[]> traffic = stage("fan-out");
        long[] into = traffic.get("into");
        long[] from = traffic.get("from");
        long served = traffic.get("served")[0];
        assertThat(served - modelBytes)
                .as("the origin served one copy in all")
                .isBetween(0L, shards.size() * 65_536L + 16_384L);
        for (int h = 0; h < 2; h++) {
            assertThat(into[h])
                    .as("host %d received every byte of the model over its veth link", h)
                    .isGreaterThanOrEqualTo(modelBytes);
        }
        // a range fetched on one host goes to each of the other host's slots (1 or 2)
        assertThat(from[0] + from[1])
                .as("bytes the hosts sent each other over their veth links")
                .isGreaterThanOrEqualTo(modelBytes);
    }

    @Test
    @Order(2)
    void perHostKeepsEachHostsCopiesInsideIt() throws Exception {
        Map<String, long[]> traffic = stage("per-host");
        long[] into = traffic.get("into");
        long[] from = traffic.get("from");
        long served = traffic.get("served")[0];
        assertThat(served - 2 * modelBytes)
                .as("the origin served one copy per host")
                .isBetween(0L, shards.size() * 65_536L + 16_384L);
        for (int h = 0; h < 2; h++) {
            assertThat(into[h])
                    .as("host %d fetched the model over its veth link", h)
                    .isGreaterThanOrEqualTo(modelBytes);
        }
        assertThat(from[0] + from[1])
                .as("bytes the hosts sent over their veth links: requests and control only")
                .isLessThan(modelBytes / 4);
    }

    /**
     * Stages the model on every slot with the cache on, checks the bytes, the cache and the hosts,
     * and returns the veth bytes of the run: "into" and "from" per host, and "served" (the origin's
     * body bytes).
     */
    private Map<String, long[]> stage(String mode) throws Exception {
        HostNetwork net = cluster.network().orElseThrow();
        Path report = cluster.dir().resolve("report-" + mode);
        String cacheName = "cache-" + mode;
        long[] into0 = {net.bytesIntoHost(0), net.bytesIntoHost(1)};
        long[] from0 = {net.bytesFromHost(0), net.bytesFromHost(1)};
        long served;
        String job;
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir, cluster.originAddress())) {
            job =
                    cluster.submit(
                            jar,
                            SLOTS,
                            List.of(
                                    "--model",
                                    origin.uri(modelDir.relativize(index).toString()).toString(),
                                    "--device",
                                    "cpu",
                                    "--fetch-mode",
                                    mode,
                                    "--cache-dir",
                                    cluster.hostLocal().resolve(cacheName).toString(),
                                    "--report",
                                    report.toUri().toString()));
            assertThat(cluster.awaitEnd(job, Duration.ofMinutes(3))).isEqualTo("FINISHED");
            served = origin.bytesServed();
        }
        long[] into = new long[2];
        long[] from = new long[2];
        for (int h = 0; h < 2; h++) {
            into[h] = net.bytesIntoHost(h) - into0[h];
            from[h] = net.bytesFromHost(h) - from0[h];
        }
        System.out.printf(
                "cluster %s across namespaces: model %d bytes; origin served %.3fx;"
                        + " host 0 (%s) veth in %d (%.2fx) out %d (%.2fx);"
                        + " host 1 (%s) veth in %d (%.2fx) out %d (%.2fx)%n",
                mode,
                modelBytes,
                served / (double) modelBytes,
                cluster.hostAddress(0),
                into[0],
                into[0] / (double) modelBytes,
                from[0],
                from[0] / (double) modelBytes,
                cluster.hostAddress(1),
                into[1],
                into[1] / (double) modelBytes,
                from[1],
                from[1] / (double) modelBytes);
        printTaskBytes(job, mode);

        List<JsonNode> events = report(report);
        Map<Integer, Map<String, String>> bySlot = new TreeMap<>();
        Map<Integer, String> hostOfSlot = new TreeMap<>();
        long tensors = 0;
        for (JsonNode e : events) {
            if ("tensor".equals(e.path("event").asText())) {
                tensors++;
                bySlot.computeIfAbsent(e.path("slot").asInt(), s -> new TreeMap<>())
                        .put(e.path("tensor").asText(), e.path("crc32c").asText());
                hostOfSlot.put(e.path("slot").asInt(), e.path("host").asText());
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
        Map<String, Long> slotsPerHost = new TreeMap<>();
        hostOfSlot.values().forEach(h -> slotsPerHost.merge(h, 1L, Long::sum));
        System.out.println("cluster " + mode + ": slots per host " + slotsPerHost);
        assertThat(slotsPerHost.values())
                .as("two hosts, of 2 slots and 1: %s", slotsPerHost)
                .containsExactlyInAnyOrder(2L, 1L);
        assertThat(publishedPerFile(events))
                .as("each file published once on each host")
                .hasSize(shards.size())
                .allSatisfy((file, n) -> assertThat(n).isEqualTo(2));
        for (int h = 0; h < 2; h++) {
            assertThat(digests(cluster.hostDir(h).resolve(cacheName)))
                    .as("host %d's own cache", h)
                    .isEqualTo(digests(modelDir));
        }
        return Map.of("into", into, "from", from, "served", new long[] {served});
    }

    /**
     * Prints the bytes each vertex's subtasks read and wrote (Flink's task I/O metrics), by host.
     */
    private static void printTaskBytes(String job, String mode) throws Exception {
        for (JsonNode v : cluster.get("jobs/" + job).path("vertices")) {
            Map<String, long[]> byHost = new TreeMap<>();
            for (JsonNode t :
                    cluster.get("jobs/" + job + "/vertices/" + v.path("id").asText())
                            .path("subtasks")) {
                long[] rw =
                        byHost.computeIfAbsent(
                                t.path("endpoint").asText(t.path("host").asText()).split(":")[0],
                                k -> new long[2]);
                rw[0] += t.path("metrics").path("read-bytes").asLong();
                rw[1] += t.path("metrics").path("write-bytes").asLong();
            }
            StringBuilder sb = new StringBuilder();
            byHost.forEach(
                    (h, rw) ->
                            sb.append(' ')
                                    .append(h)
                                    .append(" read ")
                                    .append(rw[0])
                                    .append(" wrote ")
                                    .append(rw[1]));
            System.out.println(
                    "cluster " + mode + ": task bytes of '" + v.path("name").asText() + "':" + sb);
        }
    }
}
