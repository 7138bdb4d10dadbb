package io.warmstage.job;

import io.warmstage.job.report.ReportOptions;
import io.warmstage.job.report.ReportWriter;
import io.warmstage.job.report.SummaryOperator;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.ConfigConstants;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The job's entry point on a Flink cluster ({@code flink run warmstage-job.jar ...}). Events are
 * written as JSON lines with Flink's {@link FileSink} under {@code --report} (or {@code
 * warmstage.report.path}), else printed to the TaskManagers' stdout (visible in the Web UI). A
 * summary operator logs the run's totals when the input ends and publishes them as accumulators.
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

    @Option(names = "--fetch-mode", paramLabel = "per-target|per-host|fan-out")
    String fetchMode;

    @Option(names = "--report", paramLabel = "URI")
    String report;

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
        String mode = fetchMode != null ? fetchMode : m != null ? m.fetchMode : null;
        if (mode != null) {
            conf.set(FleetOptions.FETCH_MODE, FetchMode.parse(mode).label());
        }
        String dev = device != null ? device : m != null && m.device != null ? m.device : "cpu";
        conf.set(StagingOptions.DEVICE, dev);
        String cache = cacheDir != null ? cacheDir : m != null ? m.cacheDir : null;
        if (cache != null) {
            conf.set(WeightSourceOptions.CACHE_DIR, cache);
        }
        Duration refresh = m == null ? null : m.refreshInterval();
        DataStream<StagingEvent> events =
                StagingPipeline.build(
                        env,
                        specs,
                        conf,
                        slots,
                        refresh == null ? null : new ManifestCatalog(manifest),
                        refresh);
        String reportPath = report != null ? report : conf.get(ReportOptions.PATH);
        DataStream<String> lines = events.map(WarmstageJob::json).name("report");
        if (reportPath == null) {
            lines.print("warmstage");
        } else {
            lines.sinkTo(
                            FileSink.forRowFormat(
                                            new org.apache.flink.core.fs.Path(reportPath),
                                            new SimpleStringEncoder<String>())
                                    .withBucketAssigner(new BasePathBucketAssigner<>())
                                    // a part file per checkpoint: a refreshing (unbounded) job's
                                    // events are published when the checkpoint completes
                                    .withRollingPolicy(OnCheckpointRollingPolicy.build())
                                    .withOutputFileConfig(
                                            OutputFileConfig.builder()
                                                    .withPartPrefix("events")
                                                    .withPartSuffix(".jsonl")
                                                    .build())
                                    .build())
                    .name("report file");
        }
        events.transform("summary", Types.VOID, new SummaryOperator())
                .setParallelism(1)
                .setMaxParallelism(1);
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

    /** JSON line of one event. */
    private static String json(StagingEvent e) {
        return ReportWriter.toJson(e).toString();
    }
}
