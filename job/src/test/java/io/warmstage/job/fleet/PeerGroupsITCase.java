package io.warmstage.job.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.cache.CacheOptions;
import io.warmstage.cache.PeerCacheServer;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.testing.ReferenceReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One job per group of hosts, the groups sharing one fetch: group A (an embedded fleet of 2 hosts x
 * 2 slots, fan-out) stages a ~15 MiB model from a loopback origin into its hosts' caches; each of
 * A's hosts then serves its cache ({@link PeerCacheServer}, real HTTP on loopback), and group B
 * (another fleet and job, with {@code warmstage.cache.peers} naming A's hosts) stages the same
 * model from them. The origin serves B no data, only the index and header reads of planning; every
 * slot of B reports every tensor with the reference's CRC-32C; a corrupt peer copy and a dead peer
 * fall back to the origin.
 */
class PeerGroupsITCase {
    static final int HOSTS = 2;
    static final int PER_HOST = 2;
    static final long SPLIT = 1 << 20;

    /** What the enumerator reads from the origin once per run: the index and header prefixes. */
    static final long HEADER_PREFETCH = 64 << 10;

    static Path modelDir;
    static String indexPath;
    static List<Path> shards;
    static long modelBytes;
    static long indexBytes;
    static Map<String, String> reference;

    @TempDir Path caches;

    final List<PeerCacheServer> servers = new ArrayList<>();

    @BeforeAll
    static void writeModel() throws Exception {
        modelDir = Path.of("target", "peer-groups-model").toAbsolutePath();
        Path index =
                DemoModel.write(modelDir, new DemoModel.Dims(2048, 512, 1408, 2, 8, 2), 4 << 20);
        indexPath = modelDir.relativize(index).toString();
        indexBytes = Files.size(index);
        try (Stream<Path> list = Files.list(modelDir)) {
            shards = list.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        reference = new TreeMap<>();
        for (Path s : shards) {
            modelBytes += Files.size(s);
            reference.putAll(ReferenceReader.crcs(s));
        }
        assertThat(shards).hasSizeGreaterThan(1);
    }

    @AfterEach
    void stop() {
        servers.forEach(PeerCacheServer::close);
        ResidentSet.releaseAll();
    }

    @Test
    void aSecondGroupStagesFromTheFirstGroupsCachesAndTheOriginServesItNoData() throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            TrafficRun.Measured a = group(caches.resolve("a")).run(origin, indexPath);
            assertThat(a.originBytes())
                    .as("group A fetches the model once")
                    .isGreaterThan(modelBytes);
            assertStaged(a);

            TrafficRun.Measured b =
                    group(caches.resolve("b"))
                            .run(
                                    origin,
                                    indexPath,
                                    new Configuration(),
                                    peers(caches.resolve("a")));
            System.out.printf(
                    "group A: origin %d bytes; group B: origin %d, from peers %d, servers %d%n",
                    a.originBytes(), b.originBytes(), b.traffic().peerBytes(), bytesServed());
            assertThat(b.traffic().originBytes()).as("B's readers read no origin data").isZero();
            assertThat(b.traffic().peerBytes())
                    .as("B read the model once from peers")
                    .isEqualTo(modelBytes);
            assertThat(bytesServed()).as("A's hosts served the model once").isEqualTo(modelBytes);
            assertThat(b.originBytes())
                    .as("the origin served B only planning: index and header prefixes")
                    .isBetween(indexBytes, indexBytes + shards.size() * HEADER_PREFETCH);
            assertThat(servers).allMatch(s -> s.bytesServed() > 0, "each peer served a share");
            assertStaged(b);
            assertThat(b.events().stream().filter(e -> StagingEvent.CACHE.equals(e.event)))
                    .as("B's hosts publish their own verified copies")
                    .hasSize(shards.size() * HOSTS)
                    .allMatch(e -> "published".equals(e.status));
        }
    }

    @Test
    void aCorruptPeerCopyIsCaughtPerTensorAndTheFileComesFromTheOrigin() throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            group(caches.resolve("a")).run(origin, indexPath);
            Path shard = shards.get(0);
            int corrupted = 0;
            for (Path host : hosts(caches.resolve("a"))) {
                corrupted += flipLastByteOfEntry(host, Files.size(shard));
            }
            assertThat(corrupted).as("the shard's copy on each of A's hosts").isEqualTo(HOSTS);

            TrafficRun.Measured b =
                    group(caches.resolve("b"))
                            .run(
                                    origin,
                                    indexPath,
                                    new Configuration(),
                                    peers(caches.resolve("a")));
            assertStaged(b);
            assertThat(b.traffic().peerBytes()).as("B read from the peers").isPositive();
            assertThat(b.originBytes())
                    .as("the corrupt shard is fetched again from the origin")
                    .isGreaterThanOrEqualTo(Files.size(shard));
            byte[] original = Files.readAllBytes(shard);
            for (Path host : hosts(caches.resolve("b"))) {
                try (Stream<Path> s = Files.list(host)) {
                    for (Path p : s.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                        if (Files.size(p) == original.length) {
                            assertThat(Files.readAllBytes(p))
                                    .as("%s's published copy of the shard", host.getFileName())
                                    .isEqualTo(original);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aDeadPeerIsSkippedAndTheOriginServesTheModel() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Configuration dead = new Configuration();
        dead.setString(CacheOptions.PEERS.key(), "http://127.0.0.1:" + port);
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            TrafficRun.Measured b =
                    group(caches.resolve("b")).run(origin, indexPath, new Configuration(), dead);
            assertThat(b.traffic().peerBytes()).isZero();
            assertThat(b.traffic().originBytes()).isEqualTo(modelBytes);
            assertStaged(b);
        }
    }

    private static TrafficRun group(Path cacheDir) {
        return new TrafficRun(HOSTS, PER_HOST, FetchMode.FAN_OUT, cacheDir, SPLIT);
    }

    /** Starts a peer cache server on each of the group's host caches; the peers option for them. */
    private Configuration peers(Path groupCaches) throws Exception {
        List<String> uris = new ArrayList<>();
        for (Path host : hosts(groupCaches)) {
            PeerCacheServer s =
                    PeerCacheServer.start(host, new InetSocketAddress("127.0.0.1", 0), 4);
            servers.add(s);
            uris.add(s.uri().toString());
        }
        assertThat(uris).hasSize(HOSTS);
        Configuration c = new Configuration();
        c.setString(CacheOptions.PEERS.key(), String.join(";", uris));
        return c;
    }

    private static List<Path> hosts(Path groupCaches) throws Exception {
        try (Stream<Path> s = Files.list(groupCaches)) {
            return s.filter(Files::isDirectory)
                    .filter(d -> d.getFileName().toString().startsWith("host-"))
                    .sorted()
                    .toList();
        }
    }

    private long bytesServed() {
        return servers.stream().mapToLong(PeerCacheServer::bytesServed).sum();
    }

    /** Flips the last byte of the published data file of {@code size} bytes in a host's cache. */
    private static int flipLastByteOfEntry(Path hostCache, long size) throws Exception {
        int n = 0;
        try (Stream<Path> s = Files.list(hostCache)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                if (Files.size(p) != size) {
                    continue;
                }
                try (FileChannel ch =
                        FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, size - 1);
                    b.put(0, (byte) (b.get(0) ^ 0x5a));
                    ch.write(b.rewind(), size - 1);
                }
                n++;
            }
        }
        return n;
    }

    private static String same(String x, String y) {
        assertThat(y).as("a tensor reported twice").isEqualTo(x);
        return y;
    }

    /** Every slot staged the model, every tensor with the reference's CRC-32C. */
    private static void assertStaged(TrafficRun.Measured m) {
        assertThat(m.events().stream().filter(e -> StagingEvent.MODEL.equals(e.event)))
                .hasSize(HOSTS * PER_HOST)
                .allMatch(e -> "staged".equals(e.status));
        Map<Integer, Map<String, String>> bySlot =
                m.events().stream()
                        .filter(e -> StagingEvent.TENSOR.equals(e.event))
                        .collect(
                                Collectors.groupingBy(
                                        e -> e.slot,
                                        TreeMap::new,
                                        Collectors.toMap(
                                                e -> e.tensor,
                                                e -> e.crc32c,
                                                PeerGroupsITCase::same,
                                                TreeMap::new)));
        assertThat(bySlot).hasSize(HOSTS * PER_HOST);
        bySlot.forEach((slot, crcs) -> assertThat(crcs).as("slot %d", slot).isEqualTo(reference));
    }
}
