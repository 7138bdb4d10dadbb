package io.warmstage.job.cli;

import io.warmstage.cache.ContentPins;
import io.warmstage.cache.PeerCopies;
import io.warmstage.job.Manifest;
import io.warmstage.job.ManifestCatalog;
import io.warmstage.job.StagingPipeline;
import io.warmstage.job.report.Summary;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingOptions;
import java.nio.file.Path;
import java.time.Duration;
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
            names = "--task-managers",
            paramLabel = "N",
            description =
                    "Fleet simulation: N TaskManagers, each a simulated host with its own cache"
                            + " directory under --cache-dir (default: 1, no simulation).")
    Integer taskManagers;

    @Option(
            names = "--slots-per-tm",
            paramLabel = "M",
            description = "Slots per TaskManager with --task-managers (default: 1).")
    Integer slotsPerTm;

    @Option(
            names = "--fetch-mode",
            paramLabel = "MODE",
            description =
                    "per-target (each slot fetches its copy), per-host (one fetch per host), or"
                            + " fan-out (one fetch for the fleet, replicated over Flink's"
                            + " network). Default: the manifest's, else per-target.")
    String fetchMode;

    @Option(
            names = "--refresh",
            paramLabel = "INTERVAL",
            description =
                    "Keep running: re-read the manifest and re-check every model's version every"
                            + " INTERVAL (e.g. 30s, 10m); stage what changed, release what was"
                            + " removed. Ctrl-C stops.")
    String refresh;

    @Option(
            names = "--keep-staged",
            description =
                    "Leave what was staged in place when the command ends, listed in the host's"
                            + " staged set for model servers to load (warmstage.load_file in"
                            + " Python, Warmstage.loadFile in Java); cpu: shared-memory staging"
                            + " files under warmstage.staging.dir. Same as"
                            + " -Dwarmstage.staging.keep-resident=true.")
    boolean keepStaged;

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
        int tms = taskManagers == null ? 1 : taskManagers;
        int perTm = slotsPerTm == null ? 1 : slotsPerTm;
        if (tms < 1 || perTm < 1) {
            throw new ParameterException(
                    spec.commandLine(), "--task-managers and --slots-per-tm must be at least 1");
        }
        if (taskManagers == null && slotsPerTm != null) {
            throw new ParameterException(
                    spec.commandLine(), "--slots-per-tm needs --task-managers");
        }
        if (taskManagers != null && parallelism != null && parallelism != tms * perTm) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--parallelism "
                            + parallelism
                            + " does not match --task-managers "
                            + tms
                            + " x --slots-per-tm "
                            + perTm);
        }
        if (taskManagers != null && (long) tms * perTm > StagingPipeline.MAX_PARALLELISM) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--task-managers "
                            + tms
                            + " x --slots-per-tm "
                            + perTm
                            + " slots: at most "
                            + StagingPipeline.MAX_PARALLELISM
                            + " in all");
        }
        int slots =
                taskManagers != null
                        ? tms * perTm
                        : parallelism != null
                                ? parallelism
                                : m != null && m.parallelism != null ? m.parallelism : 1;
        if (taskManagers == null) {
            perTm = slots;
        }
        if (slots < 1 || slots > StagingPipeline.MAX_PARALLELISM) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--parallelism must be in [1, "
                            + StagingPipeline.MAX_PARALLELISM
                            + "], got "
                            + slots);
        }
        Configuration conf = Configuration.fromMap(options);
        try {
            PeerCopies.configured(conf);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (m != null && !m.pins().isEmpty()) {
            conf.set(WeightSourceOptions.SHA256_PINS, ContentPins.toJson(m.pins()));
        }
        String mode = fetchMode != null ? fetchMode : m != null ? m.fetchMode : null;
        if (mode != null) {
            try {
                conf.set(FleetOptions.FETCH_MODE, FetchMode.parse(mode).label());
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--fetch-mode: " + e.getMessage());
            }
        }
        Duration every;
        try {
            every =
                    refresh != null
                            ? Manifest.parseRefresh(refresh)
                            : m != null ? m.refreshInterval() : null;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--refresh: " + e.getMessage());
        }
        String dev =
                device != null
                        ? device
                        : m != null && m.device != null
                                ? m.device
                                : conf.getOptional(StagingOptions.DEVICE).orElse("cpu");
        conf.set(StagingOptions.DEVICE, dev);
        if (keepStaged) {
            conf.set(StagingOptions.KEEP_RESIDENT, true);
        }
        Path cache =
                cacheDir != null
                        ? cacheDir
                        : m != null && m.cacheDir != null ? Path.of(m.cacheDir) : null;
        if (cache != null) {
            conf.set(WeightSourceOptions.CACHE_DIR, cache.toAbsolutePath().toString());
        }
        PreflightCheck.check(spec.commandLine(), specs, conf, slots, report);
        DeviceCheck.require(spec.commandLine(), dev);
        ModelCatalog catalog =
                every == null
                        ? null
                        : manifest != null && models.isEmpty()
                                ? new ManifestCatalog(manifest)
                                : ModelCatalog.of(specs);
        Summary s =
                StageRun.run(
                        specs,
                        conf,
                        conf,
                        slots / perTm,
                        perTm,
                        catalog,
                        every,
                        report,
                        keepUi,
                        System.out);
        return s.allStaged() ? 0 : 1;
    }
}
