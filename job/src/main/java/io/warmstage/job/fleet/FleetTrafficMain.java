package io.warmstage.job.fleet;

import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.staging.ResidentSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.NettyShuffleEnvironmentOptions;

/**
 * Prints per-host traffic of a simulated fleet for several shapes, with the cache off and on, in
 * every fetch mode, fan-out both per slot (host relay off, {@code fan-out/slot}) and per host (host
 * relay on, {@code fan-out/host}): a small model (~15 MiB BF16 in 3 shards, 256 KiB splits) served
 * by a counting loopback origin, one fresh embedded fleet per run. Run by {@code
 * bench/fleet-traffic.sh}.
 *
 * <p>Arguments: shapes as {@code HOSTSxSLOTS} (default {@code 4x2 8x1 2x4}), and optionally {@code
 * --gate-cap N}: every TaskManager with {@code
 * taskmanager.network.memory.read-buffer.required-per-gate.max} N.
 */
public final class FleetTrafficMain {
    private static final long SPLIT = 256 << 10;
    private static final double MIB = 1 << 20;

    private FleetTrafficMain() {}

    /**
     * Runs every shape, cache setting and mode, and prints a table of one row per host and run.
     *
     * @throws Exception if a run fails or an argument is not {@code NxM} with N >= 2, M >= 1
     */
    public static void main(String[] args) throws Exception {
        List<int[]> shapes = new ArrayList<>();
        Configuration clusterOptions = new Configuration();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--gate-cap") && i + 1 < args.length) {
                clusterOptions.set(
                        NettyShuffleEnvironmentOptions.NETWORK_READ_MAX_REQUIRED_BUFFERS_PER_GATE,
                        Integer.parseInt(args[++i]));
            } else {
                shapes.add(shape(args[i]));
            }
        }
        if (shapes.isEmpty()) {
            for (String a : new String[] {"4x2", "8x1", "2x4"}) {
                shapes.add(shape(a));
            }
        }
        Path dir = Files.createTempDirectory("warmstage-fleet-traffic-");
        try {
            Path index =
                    DemoModel.write(
                            dir.resolve("model"),
                            new DemoModel.Dims(2048, 512, 1408, 2, 8, 2),
                            4 << 20);
            long model = modelBytes(dir.resolve("model"));
            System.out.printf(
                    Locale.ROOT,
                    "model %d bytes (%.2f MiB), 3 shards, split %d KiB; MiB per host%n",
                    model,
                    model / MIB,
                    SPLIT >> 10);
            System.out.printf(
                    Locale.ROOT,
                    "%-5s %-5s %-12s %-7s %7s %7s %6s %8s %8s %8s %8s %8s %8s %8s%n",
                    "shape",
                    "cache",
                    "mode",
                    "host",
                    "origin",
                    "read",
                    "splits",
                    "out",
                    "out-rem",
                    "in-loc",
                    "in-rem",
                    "relayed",
                    "served",
                    "stage-s");
            try (LoopbackOrigin origin = LoopbackOrigin.serve(dir.resolve("model"))) {
                String indexPath = dir.resolve("model").relativize(index).toString();
                int run = 0;
                for (int[] s : shapes) {
                    for (boolean cache : new boolean[] {false, true}) {
                        for (FetchMode mode : FetchMode.values()) {
                            for (boolean relay : relayChoices(mode)) {
                                Path cacheDir = cache ? dir.resolve("cache-" + run++) : null;
                                print(
                                        s,
                                        cache,
                                        label(mode, relay),
                                        model,
                                        measure(
                                                s,
                                                mode,
                                                relay,
                                                cacheDir,
                                                origin,
                                                indexPath,
                                                clusterOptions));
                            }
                        }
                    }
                }
            }
        } finally {
            deleteTree(dir);
        }
    }

    /** Fan-out runs with the host relay off and on; the other modes have no relay. */
    private static boolean[] relayChoices(FetchMode mode) {
        return mode == FetchMode.FAN_OUT ? new boolean[] {false, true} : new boolean[] {false};
    }

    private static String label(FetchMode mode, boolean relay) {
        if (mode != FetchMode.FAN_OUT) {
            return mode.label();
        }
        return mode.label() + (relay ? "/host" : "/slot");
    }

    private static TrafficRun.Measured measure(
            int[] s,
            FetchMode mode,
            boolean relay,
            Path cacheDir,
            LoopbackOrigin origin,
            String indexPath,
            Configuration clusterOptions)
            throws Exception {
        try {
            return new TrafficRun(s[0], s[1], mode, cacheDir, SPLIT, relay)
                    .run(origin, indexPath, clusterOptions);
        } finally {
            ResidentSet.releaseAll();
        }
    }

    private static void print(
            int[] s, boolean cache, String mode, long model, TrafficRun.Measured m) {
        String served = String.format(Locale.ROOT, "%.3fx", m.originBytes() / (double) model);
        String seconds = String.format(Locale.ROOT, "%.2f", m.seconds());
        for (FleetTraffic.HostTraffic h : m.traffic().hosts().values()) {
            System.out.printf(
                    Locale.ROOT,
                    "%-5s %-5s %-12s %-7s %7.2f %7.2f %6d %8.2f %8.2f %8.2f %8.2f %8.2f %8s %8s%n",
                    s[0] + "x" + s[1],
                    cache ? "on" : "off",
                    mode,
                    h.host(),
                    h.originBytes() / MIB,
                    h.readBytes() / MIB,
                    h.splits(),
                    h.bytesOut() / MIB,
                    h.bytesOutRemote() / MIB,
                    h.bytesInLocal() / MIB,
                    h.bytesInRemote() / MIB,
                    h.relayedLocal() / MIB,
                    served,
                    seconds);
            served = "";
            seconds = "";
        }
    }

    /**
     * {@code HOSTSxSLOTS} as {hosts, slots}.
     *
     * @throws IllegalArgumentException unless HOSTS >= 2 and SLOTS >= 1
     */
    static int[] shape(String a) {
        String[] p = a.split("x");
        try {
            int hosts = Integer.parseInt(p[0]);
            int slots = Integer.parseInt(p[1]);
            if (p.length == 2 && hosts >= 2 && slots >= 1) {
                return new int[] {hosts, slots};
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                "shape '" + a + "': expected HOSTSxSLOTS with HOSTS >= 2 and SLOTS >= 1, e.g. 4x2");
    }

    private static long modelBytes(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : s.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                total = Math.addExact(total, Files.size(p));
            }
            return total;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
