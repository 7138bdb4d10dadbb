package io.warmstage.storage;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;

/**
 * Benchmark (bench/http-clients.sh), not a test: reads one whole object as the source's reader
 * does, {@code inFlight} ranged streams of {@code split} bytes at once, each read through a reused
 * 256 KiB heap scratch array into a reused 4 MiB direct buffer, and prints wall time and the JVM's
 * CPU time (user + sys, all threads) of the read phase.
 *
 * <p>Usage: {@code HttpClientBench jdk|apache|flink URI [inFlight] [splitMiB] [key=value...]};
 * {@code flink} reads s3:// through {@link ObjectStores} with the Flink keys given.
 */
public final class HttpClientBench {
    private static final int SCRATCH = 256 << 10;
    private static final int RECORD = 4 << 20;

    public static void main(String[] args) throws Exception {
        String client = args[0];
        URI uri = URI.create(args[1]);
        int inFlight = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        long split = (args.length > 3 ? Long.parseLong(args[3]) : 16) << 20;
        Configuration conf = new Configuration();
        for (int i = 4; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            conf.setString(kv[0], kv[1]);
        }
        try (ObjectStores stores = ObjectStores.create(conf);
                ObjectStore store = store(client, uri, stores)) {
            ObjectVersion v = store.stat(uri);
            long cpu0 = cpuNanos();
            long t0 = System.nanoTime();
            long bytes = readAll(store, uri, v, inFlight, split);
            double wall = (System.nanoTime() - t0) / 1e9;
            double cpu = (cpuNanos() - cpu0) / 1e9;
            double gb = bytes / 1e9;
            System.out.printf(
                    "RESULT client=%s bytes=%d wall_s=%.3f cpu_s=%.3f gb_per_s=%.3f"
                            + " cpu_s_per_gb=%.3f%n",
                    client, bytes, wall, cpu, gb / wall, cpu / gb);
        }
    }

    private static ObjectStore store(String client, URI uri, ObjectStores stores) throws Exception {
        return switch (client) {
            case "jdk" -> new JdkHttpRangeStore();
            case "apache" ->
                    new HttpObjectStore(
                            Duration.ofSeconds(10),
                            Duration.ofSeconds(60),
                            Duration.ofSeconds(30),
                            Optional.empty(),
                            HttpObjectStore.DEFAULT_MAX_CONNECTIONS);
            case "flink" -> stores.forUri(uri);
            default -> throw new IllegalArgumentException("client: jdk, apache or flink");
        };
    }

    private static long readAll(
            ObjectStore store, URI uri, ObjectVersion v, int inFlight, long split)
            throws Exception {
        AtomicLong next = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(inFlight);
        try {
            List<Future<Long>> readers = new ArrayList<>();
            for (int t = 0; t < inFlight; t++) {
                readers.add(pool.submit(() -> readSplits(store, uri, v, next, split)));
            }
            long total = 0;
            for (Future<Long> f : readers) {
                total += f.get();
            }
            return total;
        } finally {
            pool.shutdownNow();
        }
    }

    private static long readSplits(
            ObjectStore store, URI uri, ObjectVersion v, AtomicLong next, long split)
            throws Exception {
        byte[] scratch = new byte[SCRATCH];
        ByteBuffer record = ByteBuffer.allocateDirect(RECORD);
        long total = 0;
        for (long off = next.getAndAdd(split); off < v.size(); off = next.getAndAdd(split)) {
            long length = Math.min(split, v.size() - off);
            try (var in = store.openRange(uri, v, off, length)) {
                for (int n = in.read(scratch); n > 0; n = in.read(scratch)) {
                    if (record.remaining() < n) {
                        record.clear(); // the record would be handed on here
                    }
                    record.put(scratch, 0, n);
                    total += n;
                }
            }
        }
        return total;
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private HttpClientBench() {}
}
