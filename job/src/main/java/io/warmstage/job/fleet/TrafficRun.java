package io.warmstage.job.fleet;

import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingEvent;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;

/**
 * One staging run of one model on every slot of a simulated fleet, measured: the origin's bytes,
 * and each host's and reader's traffic ({@link FleetTraffic}).
 *
 * @param taskManagers simulated hosts (one TaskManager each)
 * @param slotsPerTm staging slots per host
 * @param mode the fetch mode
 * @param cacheDir the fleet's cache directory (one subdirectory per host), or null: cache off
 * @param splitSize the largest data split, in bytes
 * @param hostRelay in fan-out, whether chunks cross the network once per remote host and are
 *     relayed on the host ({@link FleetOptions#HOST_RELAY}), or once per remote slot
 */
public record TrafficRun(
        int taskManagers,
        int slotsPerTm,
        FetchMode mode,
        Path cacheDir,
        long splitSize,
        boolean hostRelay) {

    /** A run with {@link FleetOptions#HOST_RELAY}'s default (on). */
    public TrafficRun(
            int taskManagers, int slotsPerTm, FetchMode mode, Path cacheDir, long splitSize) {
        this(taskManagers, slotsPerTm, mode, cacheDir, splitSize, true);
    }

    /**
     * What one run measured.
     *
     * @param originBytes bytes the origin served during the run (index and header reads included)
     * @param traffic per reader and per host
     * @param events every staging event the job emitted
     * @param seconds staging time: from the job reaching RUNNING to its last model event
     */
    public record Measured(
            long originBytes, FleetTraffic traffic, List<StagingEvent> events, double seconds) {}

    /**
     * Stages the model whose index is {@code indexPath} (relative to the origin's directory) from
     * {@code origin} on a fresh embedded fleet, and reads the counters before the fleet stops.
     *
     * @throws Exception if the cluster does not start or the job fails
     */
    public Measured run(LoopbackOrigin origin, String indexPath) throws Exception {
        return run(origin, indexPath, new Configuration());
    }

    /**
     * As {@link #run(LoopbackOrigin, String)}, on a fleet whose TaskManagers also get {@code
     * clusterOptions} (for example network memory options).
     *
     * @throws Exception if the cluster does not start or the job fails
     */
    public Measured run(LoopbackOrigin origin, String indexPath, Configuration clusterOptions)
            throws Exception {
        return run(origin, indexPath, clusterOptions, new Configuration());
    }

    /**
     * As {@link #run(LoopbackOrigin, String, Configuration)}, with {@code jobOptions} added to the
     * job's Warmstage options (for example {@code warmstage.cache.peers}).
     *
     * @throws Exception if the cluster does not start or the job fails
     */
    public Measured run(
            LoopbackOrigin origin,
            String indexPath,
            Configuration clusterOptions,
            Configuration jobOptions)
            throws Exception {
        Configuration cluster = new Configuration(clusterOptions);
        String id = TaskCounters.install(cluster);
        long before = origin.bytesServed();
        try (EmbeddedRunner runner = EmbeddedRunner.start(taskManagers, slotsPerTm, cluster)) {
            Configuration conf = new Configuration(jobOptions);
            conf.set(FleetOptions.FETCH_MODE, mode.label());
            conf.set(FleetOptions.HOST_RELAY, hostRelay);
            if (cacheDir != null) {
                conf.set(WeightSourceOptions.CACHE_DIR, cacheDir.toString());
            }
            conf.set(WeightSourceOptions.SPLIT_SIZE, new MemorySize(splitSize));
            var events = new ConcurrentLinkedQueue<StagingEvent>();
            double seconds =
                    runner.run(
                            List.of(new ModelSpec("model", origin.uri(indexPath).toString())),
                            conf,
                            taskManagers * slotsPerTm,
                            events::add);
            FleetTraffic traffic =
                    FleetTraffic.of(TaskCounters.of(id), runner.lastJob(), runner.simulatedHosts());
            return new Measured(
                    origin.bytesServed() - before, traffic, List.copyOf(events), seconds);
        }
    }
}
