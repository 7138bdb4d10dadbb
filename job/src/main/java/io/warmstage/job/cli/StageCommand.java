package io.warmstage.job.cli;

import io.warmstage.job.Manifest;
import io.warmstage.job.StagingPipeline;
import io.warmstage.job.report.Summary;
import io.warmstage.source.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code warmstage stage}: stages models on an embedded Flink cluster. */
@Command(
        name = "stage",
        description = {
            "Stage safetensors models into device memory on a local (embedded) Flink cluster.",
            "A URI is one .safetensors file or a sharded checkpoint's model.safetensors.index.json,"
                    + " on file://, http(s)://, s3:// or gs:// (plain paths are files).",
            "Exit status: 0 all staged, 1 any file failed, 2 usage error."
        },
        mixinStandardHelpOptions = true)
public final class StageCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--manifest", paramLabel = "FILE", description = "YAML manifest of models.")
    Path manifest;

    @Option(names = "--model", paramLabel = "URI", description = "A model to stage (repeatable).")
    List<String> models = new ArrayList<>();

    @Option(
            names = "--device",
            paramLabel = "cpu|cuda|auto",
            description = "Device of each slot: cpu, cuda, cuda:N or auto (default: cpu).")
    String device;

    @Option(
            names = "--cache-dir",
            paramLabel = "DIR",
            description = "Host-local cache directory (default: no cache).")
    Path cacheDir;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON-lines report.")
    Path report;

    @Option(
            names = "--parallelism",
            paramLabel = "N",
            description = "Staging slots; each holds every model (default: 1).")
    Integer parallelism;

    @Option(
            names = "--keep-ui",
            paramLabel = "SECONDS",
            description = "Keep the cluster and its Web UI up this long after the summary.")
    int keepUi;

    @Option(
            names = "-D",
            paramLabel = "KEY=VALUE",
            description = "A Warmstage or Flink option, e.g. -Dwarmstage.source.split-size=8mb.")
    Map<String, String> options = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        Manifest m;
        try {
            m = manifest == null ? null : Manifest.read(manifest);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        List<ModelSpec> specs = new ArrayList<>(m == null ? List.of() : m.specs());
        for (String uri : models) {
            specs.add(new ModelSpec(null, uri));
        }
        if (specs.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give --model URI or --manifest FILE");
        }
        int slots =
                parallelism != null
                        ? parallelism
                        : m != null && m.parallelism != null ? m.parallelism : 1;
        if (slots < 1 || slots > StagingPipeline.MAX_PARALLELISM) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--parallelism must be in [1, "
                            + StagingPipeline.MAX_PARALLELISM
                            + "], got "
                            + slots);
        }
        Configuration conf = Configuration.fromMap(options);
        String dev =
                device != null
                        ? device
                        : m != null && m.device != null
                                ? m.device
                                : conf.getOptional(StagingOptions.DEVICE).orElse("cpu");
        conf.set(StagingOptions.DEVICE, dev);
        Path cache =
                cacheDir != null
                        ? cacheDir
                        : m != null && m.cacheDir != null ? Path.of(m.cacheDir) : null;
        if (cache != null) {
            conf.set(WeightSourceOptions.CACHE_DIR, cache.toAbsolutePath().toString());
        }
        PreflightCheck.check(spec.commandLine(), specs, conf, slots, report);
        DeviceCheck.require(spec.commandLine(), dev);
        Summary s = StageRun.run(specs, conf, conf, slots, report, keepUi, System.out);
        return s.allStaged() ? 0 : 1;
    }
}
