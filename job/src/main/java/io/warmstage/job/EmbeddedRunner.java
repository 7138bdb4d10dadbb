package io.warmstage.job;

import io.warmstage.source.ModelSpec;
import io.warmstage.staging.StagingEvent;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

/**
 * Runs Warmstage jobs on an embedded session MiniCluster whose Web UI and REST API stay up while
 * the jobs run and the summary prints. Binds to 127.0.0.1 only.
 */
public final class EmbeddedRunner implements AutoCloseable {
    private final MiniCluster cluster;
    private final URI webUi;

    private EmbeddedRunner(MiniCluster cluster, URI webUi) {
        this.cluster = cluster;
        this.webUi = webUi;
    }

    /**
     * Starts a cluster of one TaskManager with {@code slots} slots.
     *
     * @param flinkConfig extra Flink settings (e.g. {@code rest.port})
     * @throws Exception if the cluster cannot start (e.g. no free REST port in the range)
     */
    public static EmbeddedRunner start(int slots, Configuration flinkConfig) throws Exception {
        Configuration conf = new Configuration(flinkConfig);
        conf.setString(
                RestOptions.BIND_ADDRESS.key(), conf.get(RestOptions.BIND_ADDRESS, "127.0.0.1"));
        conf.set(RestOptions.ADDRESS, conf.get(RestOptions.ADDRESS, "127.0.0.1"));
        if (!conf.contains(RestOptions.BIND_PORT)) {
            conf.set(RestOptions.BIND_PORT, "8081-8099");
        }
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
        MiniCluster cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(conf)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(slots)
                                .setCommonBindAddress("127.0.0.1")
                                .build());
        cluster.start();
        return new EmbeddedRunner(cluster, cluster.getRestAddress().get());
    }

    /** The Flink Web UI (and REST API) address. */
    public URI webUi() {
        return webUi;
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
        StreamExecutionEnvironment env = environment();
        var events = StagingPipeline.build(env, models, warmstage, slots);
        try (CloseableIterator<StagingEvent> it = events.collectAsync()) {
            JobClient job = env.executeAsync("warmstage: stage " + models.size() + " model(s)");
            CompletableFuture<Long> running = RunningWatch.start(job);
            long last = 0;
            while (it.hasNext()) {
                StagingEvent e = it.next();
                listener.accept(e);
                if (StagingEvent.MODEL.equals(e.event)) {
                    last = System.nanoTime();
                }
            }
            job.getJobExecutionResult().get();
            long start =
                    running.isDone() && !running.isCompletedExceptionally() ? running.join() : last;
            return last > start ? (last - start) / 1e9 : 0;
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }

    private StreamExecutionEnvironment environment() {
        Configuration client = new Configuration();
        client.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        client.set(PipelineOptions.GENERIC_TYPES, false);
        client.set(PipelineOptions.OBJECT_REUSE, true);
        return StreamExecutionEnvironment.createRemoteEnvironment(
                webUi.getHost(), webUi.getPort(), client);
    }
}
