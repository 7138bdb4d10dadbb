package io.warmstage.job;

import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.flink.api.dag.Pipeline;
import org.apache.flink.client.deployment.executors.PipelineExecutorUtils;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.PipelineExecutor;
import org.apache.flink.core.execution.PipelineExecutorFactory;
import org.apache.flink.core.execution.PipelineExecutorServiceLoader;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterJobClient;

/**
 * Submits jobs to an embedded {@link MiniCluster} of this JVM directly, as Flink's own {@code
 * LocalExecutor} does for the per-job MiniCluster it starts: the stream graph goes to the
 * dispatcher in-process, and the job client (results of {@code collectAsync} included) talks to the
 * cluster without the REST API. The cluster's REST API and Web UI stay up for people and tools.
 */
final class MiniClusterExecutor implements PipelineExecutor {
    /** The {@code execution.target} of environments built by {@link #environmentConfig}. */
    static final String TARGET = "warmstage-embedded";

    private final MiniCluster cluster;

    MiniClusterExecutor(MiniCluster cluster) {
        this.cluster = cluster;
    }

    /** A loader that hands this executor to a {@code StreamExecutionEnvironment}. */
    PipelineExecutorServiceLoader loader() {
        PipelineExecutor self = this;
        PipelineExecutorFactory factory =
                new PipelineExecutorFactory() {
                    @Override
                    public String getName() {
                        return TARGET;
                    }

                    @Override
                    public boolean isCompatibleWith(Configuration configuration) {
                        return TARGET.equals(configuration.get(DeploymentOptions.TARGET));
                    }

                    @Override
                    public PipelineExecutor getExecutor(Configuration configuration) {
                        return self;
                    }
                };
        return new PipelineExecutorServiceLoader() {
            @Override
            public PipelineExecutorFactory getExecutorFactory(Configuration configuration) {
                return factory;
            }

            @Override
            public Stream<String> getExecutorNames() {
                return Stream.of(TARGET);
            }
        };
    }

    /** Sets the execution target this executor answers to. */
    static Configuration environmentConfig(Configuration client) {
        client.set(DeploymentOptions.TARGET, TARGET);
        client.set(DeploymentOptions.ATTACHED, true);
        return client;
    }

    @Override
    public CompletableFuture<JobClient> execute(
            Pipeline pipeline, Configuration configuration, ClassLoader userCodeClassloader)
            throws Exception {
        var graph = PipelineExecutorUtils.getStreamGraph(pipeline, configuration);
        return cluster.submitJob(graph)
                .thenApply(
                        submitted ->
                                new MiniClusterJobClient(
                                        submitted.getJobID(),
                                        cluster,
                                        userCodeClassloader,
                                        MiniClusterJobClient.JobFinalizationBehavior.NOTHING));
    }
}
