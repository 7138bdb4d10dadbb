package io.warmstage.job.fleet;

import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.NettyShuffleEnvironmentOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.TaskManagerOptions;

/**
 * Finds, by bisection, the smallest network memory per TaskManager ({@code
 * taskmanager.memory.network.min} = {@code max}, in 32 KiB buffers) at which a fan-out job on a
 * simulated fleet starts and stages the small model (~15 MiB BF16 in 3 shards, 256 KiB splits) on
 * every slot, for several shapes, with the host relay off and on, and with {@code
 * taskmanager.network.memory.read-buffer.required-per-gate.max} unset and set. One fresh embedded
 * fleet per trial, restarts off (a trial that fails to start fails the job). Run by {@code
 * bench/network-buffers.sh}.
 *
 * <p>Arguments: shapes as {@code HOSTSxSLOTS} (default {@code 4x2 8x2 4x4 16x1}), then optionally
 * {@code --caps unset,16}.
 *
 * <p>Prints one row per shape, relay and cap: the measured minimum in buffers per TaskManager, the
 * formula's figure ({@link #formula}) and the first sentence of the error Flink gave one buffer
 * below the minimum ("no result within 45 s" where the job started but stalled). The search assumes
 * a quarter of the formula's figure fails, and checks it when it bounds the result.
 */
public final class NetworkBuffersMain {
    private static final long SPLIT = 256 << 10;
    private static final int SEGMENT = 32 << 10;
    private static final long TRIAL_TIMEOUT_S = 45;

    private NetworkBuffersMain() {}

    /** The outcome of one trial: staged on every slot, or the reason it did not. */
    private record Trial(boolean ok, String error) {}

    /**
     * Runs every shape, relay choice and cap, and prints the table.
     *
     * @throws Exception if the model cannot be written or the origin cannot start, or an argument
     *     is malformed
     */
    public static void main(String[] args) throws Exception {
        List<int[]> shapes = new ArrayList<>();
        List<Integer> caps = new ArrayList<>(List.of(0, 16));
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--caps")) {
                caps.clear();
                for (String c : args[++i].split(",")) {
                    caps.add(c.equals("unset") ? 0 : Integer.parseInt(c));
                }
            } else {
                shapes.add(FleetTrafficMain.shape(args[i]));
            }
        }
        if (shapes.isEmpty()) {
            for (String s : new String[] {"4x2", "8x2", "4x4", "16x1"}) {
                shapes.add(FleetTrafficMain.shape(s));
            }
        }
        Path dir = Files.createTempDirectory("warmstage-network-buffers-");
        try {
            Path index =
                    DemoModel.write(
                            dir.resolve("model"),
                            new DemoModel.Dims(2048, 512, 1408, 2, 8, 2),
                            4 << 20);
            System.out.printf(
                    Locale.ROOT,
                    "fan-out, 3-shard model, split %d KiB; buffers of %d KiB per TaskManager%n",
                    SPLIT >> 10,
                    SEGMENT >> 10);
            System.out.printf(
                    Locale.ROOT,
                    "%-5s %4s %-5s %-5s %9s %9s %7s  %s%n",
                    "shape",
                    "P",
                    "relay",
                    "cap",
                    "measured",
                    "formula",
                    "trials",
                    "error one buffer below");
            try (LoopbackOrigin origin = LoopbackOrigin.serve(dir.resolve("model"))) {
                String indexPath = dir.resolve("model").relativize(index).toString();
                for (int[] s : shapes) {
                    for (boolean relay : new boolean[] {false, true}) {
                        for (int cap : caps) {
                            measure(s[0], s[1], relay, cap, origin, indexPath);
                        }
                    }
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * The buffers one TaskManager of the fan-out job holds at the minimum, per Flink 2.3's rules
     * ({@code NettyShuffleUtils.getMinMaxNetworkBuffersPerResultPartition}, {@code
     * InputGateSpecUtils.createGateBuffersSpec}): a result partition of n subpartitions min n + 1;
     * an input gate of n channels requires r = min(cap, 2n + 1) (r = 2n + 1 with the cap unset), of
     * it e = min(2, (r - 1) / n) exclusive buffers per channel, taken by remote channels only (a
     * local channel reads its producer's buffers), and r - e x n floating. Per slot: the source (P
     * + 1 out), with the relay a relay (gate of P channels, P + 1 out), the stage (gate of P
     * channels, 2 out to the event sink of parallelism 1); one TaskManager also holds the event
     * sink's gate. Of a gate's P channels, G come from the same TaskManager.
     *
     * @param hosts TaskManagers
     * @param slots slots per TaskManager
     * @param relay whether the job has the host relay
     * @param cap the per-gate cap, or 0 for unset
     * @return buffers on the busiest TaskManager (the one with the event sink)
     */
    static long formula(int hosts, int slots, boolean relay, int cap) {
        long p = (long) hosts * slots;
        long required = cap > 0 ? Math.min(cap, 2 * p + 1) : 2 * p + 1;
        long exclusive = Math.min(2, (required - 1) / p);
        long gate = exclusive * (p - slots) + (required - exclusive * p);
        long exchanges = relay ? 2 : 1;
        return slots * (exchanges * (p + 1 + gate) + 2) + gate;
    }

    private static void measure(
            int hosts, int slots, boolean relay, int cap, LoopbackOrigin origin, String indexPath)
            throws Exception {
        long guess = formula(hosts, slots, relay, cap);
        long lo = guess / 4; // assumed to fail; checked at the end when it bounds the result
        long hi = Math.max(3 * guess / 2, 64); // checked
        int trials = 0;
        Trial top = trial(hosts, slots, relay, cap, hi, origin, indexPath);
        trials++;
        while (!top.ok()) {
            lo = hi;
            hi *= 2;
            top = trial(hosts, slots, relay, cap, hi, origin, indexPath);
            trials++;
        }
        String below = "-";
        while (hi - lo > 1) {
            long mid = (lo + hi) >>> 1;
            Trial t = trial(hosts, slots, relay, cap, mid, origin, indexPath);
            trials++;
            if (t.ok()) {
                hi = mid;
            } else {
                lo = mid;
                below = t.error();
            }
        }
        if (below.equals("-")) {
            Trial t = trial(hosts, slots, relay, cap, lo, origin, indexPath);
            trials++;
            below = t.ok() ? "passes at " + lo + ": the minimum is lower" : t.error();
        }
        System.out.printf(
                Locale.ROOT,
                "%-5s %4d %-5s %-5s %9d %9d %7d  %s%n",
                hosts + "x" + slots,
                hosts * slots,
                relay ? "on" : "off",
                cap > 0 ? Integer.toString(cap) : "unset",
                hi,
                guess,
                trials,
                below);
    }

    private static Trial trial(
            int hosts,
            int slots,
            boolean relay,
            int cap,
            long buffers,
            LoopbackOrigin origin,
            String indexPath)
            throws Exception {
        Configuration cluster = new Configuration();
        MemorySize network = new MemorySize(buffers * SEGMENT);
        cluster.set(TaskManagerOptions.NETWORK_MEMORY_MIN, network);
        cluster.set(TaskManagerOptions.NETWORK_MEMORY_MAX, network);
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        if (cap > 0) {
            cluster.set(
                    NettyShuffleEnvironmentOptions.NETWORK_READ_MAX_REQUIRED_BUFFERS_PER_GATE, cap);
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (EmbeddedRunner runner = EmbeddedRunner.start(hosts, slots, cluster)) {
            Configuration conf = new Configuration();
            conf.set(FleetOptions.FETCH_MODE, FetchMode.FAN_OUT.label());
            conf.set(FleetOptions.HOST_RELAY, relay);
            conf.set(WeightSourceOptions.SPLIT_SIZE, new MemorySize(SPLIT));
            var events = new ConcurrentLinkedQueue<StagingEvent>();
            int p = hosts * slots;
            Future<Double> run =
                    pool.submit(
                            () ->
                                    runner.run(
                                            List.of(
                                                    new ModelSpec(
                                                            "model",
                                                            origin.uri(indexPath).toString())),
                                            conf,
                                            p,
                                            events::add));
            try {
                run.get(TRIAL_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                run.cancel(true);
                return new Trial(false, "no result within " + TRIAL_TIMEOUT_S + " s");
            } catch (java.util.concurrent.ExecutionException e) {
                return new Trial(false, rootMessage(e));
            }
            long staged =
                    events.stream()
                            .filter(e -> StagingEvent.MODEL.equals(e.event))
                            .filter(e -> "staged".equals(e.status))
                            .count();
            return staged == p
                    ? new Trial(true, "")
                    : new Trial(false, staged + " of " + p + " slots staged the model");
        } finally {
            pool.shutdownNow();
            ResidentSet.releaseAll();
        }
    }

    /** The first line of the deepest cause that names network buffers, else of the root cause. */
    private static String rootMessage(Throwable t) {
        String found = null;
        Throwable last = t;
        for (Throwable c = t; c != null; c = c.getCause()) {
            last = c;
            String m = c.getMessage();
            if (m != null && m.contains("network buffers")) {
                found = m;
            }
        }
        String m =
                found != null ? found : last.getClass().getSimpleName() + ": " + last.getMessage();
        int dot = m.indexOf(". ");
        return (dot > 0 ? m.substring(0, dot + 1) : m).replace('\n', ' ');
    }
}
