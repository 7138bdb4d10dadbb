package io.warmstage.job;

import io.warmstage.job.report.ReportWriter;
import io.warmstage.source.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.source.fleet.FetchMode;
import io.warmstage.source.fleet.FleetOptions;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.ConfigConstants;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The job's entry point on a Flink cluster ({@code flink run warmstage-job.jar ...}). Events are
 * printed as JSON lines to the TaskManagers' stdout (visible in the Web UI).
 */
@Command(name = "warmstage-job", mixinStandardHelpOptions = true)
public final class WarmstageJob implements Callable<Integer> {
    @Option(names = "--manifest", paramLabel = "FILE")
    Path manifest;

    @Option(names = "--model", paramLabel = "URI")
    List<String> models = new ArrayList<>();

    @Option(names = "--device", paramLabel = "cpu|cuda|auto")
    String device;

    @Option(names = "--cache-dir", paramLabel = "DIR")
    String cacheDir;

    @Option(names = "--parallelism", paramLabel = "N")
    Integer parallelism;

    public static void main(String[] args) {
        int rc = new CommandLine(new WarmstageJob()).execute(args);
        if (rc != 0) {
            throw new IllegalStateException("warmstage job failed with status " + rc);
        }
    }

    @Override
    public Integer call() throws Exception {
        Manifest m = manifest == null ? null : Manifest.read(manifest);
        List<ModelSpec> specs = new ArrayList<>(m == null ? List.of() : m.specs());
        models.forEach(uri -> specs.add(new ModelSpec(null, uri)));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        int slots =
                parallelism != null
                        ? parallelism
                        : m != null && m.parallelism != null ? m.parallelism : env.getParallelism();
        // warmstage.* settings of the cluster's config.yaml (cache dir, storage, source options)
        Configuration conf = new Configuration();
        String confDir = System.getenv(ConfigConstants.ENV_FLINK_CONF_DIR);
        if (confDir != null) {
            GlobalConfiguration.loadConfiguration(confDir).toMap().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("warmstage."))
                    .forEach(e -> conf.setString(e.getKey(), e.getValue()));
        }
        if (m != null && !m.pins().isEmpty()) {
            conf.set(
                    WeightSourceOptions.SHA256_PINS,
                    io.warmstage.cache.ContentPins.toJson(m.pins()));
        }
        if (m != null && m.fetchMode != null) {
            conf.set(FleetOptions.FETCH_MODE, FetchMode.parse(m.fetchMode).label());
        }
        String dev = device != null ? device : m != null && m.device != null ? m.device : "cpu";
        conf.set(StagingOptions.DEVICE, dev);
        String cache = cacheDir != null ? cacheDir : m != null ? m.cacheDir : null;
        if (cache != null) {
            conf.set(WeightSourceOptions.CACHE_DIR, cache);
        }
        Duration refresh = m == null ? null : m.refreshInterval();
        StagingPipeline.build(
                        env,
                        specs,
                        conf,
                        slots,
                        refresh == null ? null : new ManifestCatalog(manifest),
                        refresh)
                .map(WarmstageJob::json)
                .name("report")
                .print("warmstage");
        if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            env.enableCheckpointing(Duration.ofMinutes(1).toMillis()); // on by default
        }
        env.execute(
                "warmstage: stage "
                        + specs.size()
                        + " model(s)"
                        + (refresh == null ? "" : ", refresh every " + refresh));
        return 0;
    }

    private static String json(StagingEvent e) {
        return ReportWriter.toJson(e).toString();
    }
}
