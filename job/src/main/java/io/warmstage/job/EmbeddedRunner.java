package io.warmstage.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.staging.StagingEvent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

/**
 * Runs Warmstage jobs on an embedded session MiniCluster whose Web UI and REST API stay up while
 * the jobs run and the summary prints. Binds to 127.0.0.1 only.
 *
 * <p>With more than one TaskManager it is a local fleet simulation: each TaskManager is a host of
 * its own ({@code host-0}, {@code host-1}, ...), with its own cache directory under the configured
 * one, so per-host fetching and per-host caches behave as on a real fleet.
 *
 * <p>Checkpointing is on (every 10 s unless {@code execution.checkpointing.interval} says
 * otherwise, into a temporary directory removed on close): a failed task restarts from the last
 * checkpoint, and the events a restarted job would repeat are never delivered twice.
 */
public final class EmbeddedRunner implements AutoCloseable {
    /** Checkpoint interval of embedded jobs unless configured. */
    public static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final MiniCluster cluster;
    private final URI webUi;
    private final Map<String, String> simulatedHosts;
    private final Path checkpoints;
    private final Configuration clusterConfig;
    private volatile JobID currentJob;
    private volatile JobID lastJob;

    private EmbeddedRunner(
            MiniCluster cluster,
            URI webUi,
            Map<String, String> simulatedHosts,
            Path checkpoints,
            Configuration clusterConfig) {
        this.cluster = cluster;
        this.webUi = webUi;
        this.simulatedHosts = simulatedHosts;
        this.checkpoints = checkpoints;
        this.clusterConfig = clusterConfig;
    }

    /**
     * Starts a cluster of one TaskManager with {@code slots} slots.
     *
     * @param flinkConfig extra Flink settings (e.g. {@code rest.port})
     * @throws Exception if the cluster cannot start (e.g. no free REST port in the range)
     */
    public static EmbeddedRunner start(int slots, Configuration flinkConfig) throws Exception {
        return start(1, slots, flinkConfig);
    }

    /**
     * Starts a cluster of {@code taskManagers} TaskManagers with {@code slotsPerTaskManager} slots
     * each; with more than one it is a fleet simulation (one simulated host per TaskManager).
     *
     * @throws Exception if the cluster cannot start, or its TaskManagers do not register within 60
     *     seconds
     */
    public static EmbeddedRunner start(
            int taskManagers, int slotsPerTaskManager, Configuration flinkConfig) throws Exception {
        Configuration conf = new Configuration(flinkConfig);
        conf.setString(
                RestOptions.BIND_ADDRESS.key(), conf.get(RestOptions.BIND_ADDRESS, "127.0.0.1"));
        conf.set(RestOptions.ADDRESS, conf.get(RestOptions.ADDRESS, "127.0.0.1"));
        if (!conf.contains(RestOptions.BIND_PORT)) {
            conf.set(RestOptions.BIND_PORT, "8081-8099");
        }
        if (!conf.contains(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL)) {
            conf.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofSeconds(1));
        }
        Path checkpoints = Files.createTempDirectory("warmstage-checkpoints-");
        if (!conf.contains(CheckpointingOptions.CHECKPOINTS_DIRECTORY)) {
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
        }
        if (!conf.contains(RestartStrategyOptions.RESTART_STRATEGY)) {
            boundedRestarts(conf);
        }
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slotsPerTaskManager);
        MiniCluster cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(conf)
                                .setNumTaskManagers(taskManagers)
                                .setNumSlotsPerTaskManager(slotsPerTaskManager)
                                .setCommonBindAddress("127.0.0.1")
                                .build());
        cluster.start();
        URI webUi = cluster.getRestAddress().get();
        Map<String, String> hosts = Map.of();
        if (taskManagers > 1) {
            hosts = simulatedHosts(webUi, taskManagers);
        }
        return new EmbeddedRunner(cluster, webUi, hosts, checkpoints, conf);
    }

    /**
     * Names the TaskManagers host-0, host-1, ... in the order of their resource IDs, once all have
     * registered.
     */
    /**
     * The restart strategy of conf/config.yaml, for an embedded cluster whose options name none:
     * exponential delay from 1 s to 30 s, and the job fails after {@link #RESTART_ATTEMPTS}
     * restarts without an hour's rest between them (each of these the options do not set) (Flink's
     * own default restarts forever, so a failure that repeats, such as too little network memory,
     * would never end the command).
     */
    static void boundedRestarts(Configuration conf) {
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        setIfAbsent(
                conf,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                Duration.ofSeconds(1));
        setIfAbsent(
                conf,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                Duration.ofSeconds(30));
        setIfAbsent(
                conf,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                RESTART_ATTEMPTS);
    }

    private static <T> void setIfAbsent(
            Configuration conf, org.apache.flink.configuration.ConfigOption<T> option, T value) {
        if (!conf.contains(option)) {
            conf.set(option, value);
        }
    }

    /** Restarts a job may take in a row before it fails (conf/config.yaml says the same). */
    static final int RESTART_ATTEMPTS = 8;

    private static Map<String, String> simulatedHosts(URI webUi, int expected) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(webUi.resolve("/taskmanagers")).build(),
                            HttpResponse.BodyHandlers.ofString());
            List<String> ids = new ArrayList<>();
            for (JsonNode tm : JSON.readTree(r.body()).path("taskmanagers")) {
                ids.add(tm.path("id").asText());
            }
            if (ids.size() >= expected) {
                ids.sort(Comparator.naturalOrder());
                Map<String, String> hosts = new LinkedHashMap<>();
                for (int i = 0; i < ids.size(); i++) {
                    hosts.put(ids.get(i), "host-" + i);
                }
                return hosts;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        ids.size() + " of " + expected + " TaskManagers registered within 60 s");
            }
            Thread.sleep(50);
        }
    }

    /** The Flink Web UI (and REST API) address. */
    public URI webUi() {
        return webUi;
    }

    /** TaskManager resource ID to simulated host name; empty with one TaskManager. */
    public Map<String, String> simulatedHosts() {
        return simulatedHosts;
    }

    /** The job running now, or null. */
    public JobID currentJob() {
        return currentJob;
    }

    /** The job {@code run} started last (running or ended), or null before the first. */
    public JobID lastJob() {
        return lastJob;
    }

    /** The cluster, for tests that take TaskManagers away or add them. */
    public MiniCluster cluster() {
        return cluster;
    }

    /**
     * Stages {@code models} on {@code slots} slots and hands every event to {@code listener} as it
     * arrives.
     *
     * @return the staging time in seconds: from the job reaching RUNNING to its last model event
     * @throws Exception if the job itself fails (a bad model does not fail the job)
     */
    public double run(
            List<ModelSpec> models,
            Configuration warmstage,
            int slots,
            Consumer<StagingEvent> listener)
            throws Exception {
        return run(models, warmstage, slots, listener, null, null);
    }

    /**
     * As {@link #run(List, Configuration, int, Consumer)}; with a refresh interval the job keeps
     * running (until cancelled) and reads {@code catalog} again every interval.
     *
     * @return the staging time in seconds: from the job reaching RUNNING to the last model event
     *     (the events' own timestamps, so a delivery delay does not count)
     */
    public double run(
            List<ModelSpec> models,
            Configuration warmstage,
            int slots,
            Consumer<StagingEvent> listener,
            ModelCatalog catalog,
            Duration refresh)
            throws Exception {
        Configuration jobConfig = new Configuration(warmstage);
        if (!simulatedHosts.isEmpty()) {
            jobConfig.set(FleetOptions.SIMULATED_HOSTS, simulatedHosts);
        }
        StreamExecutionEnvironment env = environment(warmstage);
        var events = StagingPipeline.build(env, models, jobConfig, slots, catalog, refresh);
        try (CloseableIterator<StagingEvent> it = events.collectAsync()) {
            JobClient job =
                    env.executeAsync(
                            "warmstage: stage "
                                    + models.size()
                                    + " model(s)"
                                    + (refresh == null ? "" : ", refresh every " + refresh));
            currentJob = job.getJobID();
            lastJob = currentJob;
            CompletableFuture<Long> running = RunningWatch.start(job);
            long last = 0;
            while (it.hasNext()) {
                StagingEvent e = it.next();
                listener.accept(e);
                if (StagingEvent.MODEL.equals(e.event)) {
                    last = Math.max(last, e.at);
                }
            }
            job.getJobExecutionResult().get();
            long start =
                    running.isDone() && !running.isCompletedExceptionally() ? running.join() : last;
            return last > start ? (last - start) / 1e3 : 0;
        } finally {
            currentJob = null;
        }
    }

    @Override
    public void close() throws Exception {
        try {
            cluster.close();
        } finally {
            deleteTree(checkpoints);
        }
    }

    private StreamExecutionEnvironment environment(Configuration warmstage) {
        Configuration client = new Configuration();
        client.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        client.set(PipelineOptions.GENERIC_TYPES, false);
        client.set(PipelineOptions.OBJECT_REUSE, true);
        Duration interval =
                warmstage
                        .getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL)
                        .or(
                                () ->
                                        clusterConfig.getOptional(
                                                CheckpointingOptions.CHECKPOINTING_INTERVAL))
                        .orElse(CHECKPOINT_INTERVAL);
        client.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, interval);
        // A finished bounded job ends at once instead of waiting for one more checkpoint; the
        // collected events still arrive exactly once.
        client.set(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH, false);
        // In-process submission and result fetching (no REST round trips on the byte path's
        // CPUs); the REST API stays up for the Web UI and `warmstage watch`.
        return new StreamExecutionEnvironment(
                new MiniClusterExecutor(cluster).loader(),
                MiniClusterExecutor.environmentConfig(client),
                EmbeddedRunner.class.getClassLoader());
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp directory
        }
    }
}
