package io.warmstage.job.cli;

import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.job.report.Summary;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSourceOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code warmstage demo}: writes a small Llama-like sharded BF16 model, serves it over HTTP on
 * 127.0.0.1, and stages it on an embedded cluster with the Web UI up and the cache on.
 */
@Command(
        name = "demo",
        description = {
            "Write a small Llama-like sharded BF16 model (~118 MiB, 3 shards + index.json) into a"
                    + " temp directory, serve it over HTTP on 127.0.0.1, and stage it on an"
                    + " embedded Flink cluster with the Web UI up and a local cache."
        },
        mixinStandardHelpOptions = true)
public final class DemoCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--parallelism", paramLabel = "N", description = "Staging slots (default: 1).")
    int parallelism = 1;

    @Option(names = "--report", paramLabel = "FILE", description = "Write a JSON-lines report.")
    Path report;

    @Option(
            names = "--keep-ui",
            paramLabel = "SECONDS",
            description = "Keep the cluster and its Web UI up this long after the summary.")
    int keepUi;

    @Option(names = "--keep", description = "Keep the temp directory (model and cache).")
    boolean keep;

    @Option(
            names = "--task-managers",
            paramLabel = "N",
            description =
                    "Fleet simulation: N TaskManagers, each a simulated host with its own cache"
                            + " (default: 1).")
    int taskManagers = 1;

    @Option(
            names = "--slots-per-tm",
            paramLabel = "M",
            description = "Slots per TaskManager with --task-managers (default: 1).")
    int slotsPerTm = 1;

    @Option(
            names = "--fetch-mode",
            paramLabel = "MODE",
            description = "per-target (default), per-host or fan-out.")
    String fetchMode = "per-target";

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("warmstage-demo-");
        try {
            System.out.println("Writing a Llama-like demo model into " + dir.resolve("model"));
            Path index = DemoModel.write(dir.resolve("model"), DemoModel.Dims.small(), 48L << 20);
            try (LoopbackOrigin origin = LoopbackOrigin.serve(dir.resolve("model"))) {
                String uri = origin.uri(index.getFileName().toString()).toString();
                System.out.println("Serving it at " + uri);
                Configuration conf = new Configuration();
                conf.set(WeightSourceOptions.CACHE_DIR, dir.resolve("cache").toString());
                conf.set(FleetOptions.FETCH_MODE, FetchMode.parse(fetchMode).label());
                if (taskManagers < 1 || slotsPerTm < 1 || parallelism < 1) {
                    throw new ParameterException(
                            spec.commandLine(),
                            "--task-managers, --slots-per-tm and --parallelism must be at least 1");
                }
                boolean fleet = taskManagers > 1 || slotsPerTm > 1;
                Summary s =
                        StageRun.run(
                                List.of(new ModelSpec("demo-llama", uri)),
                                conf,
                                new Configuration(),
                                fleet ? taskManagers : 1,
                                fleet ? slotsPerTm : parallelism,
                                null,
                                null,
                                report,
                                keepUi,
                                System.out);
                long model = modelBytes(dir.resolve("model"));
                System.out.printf(
                        Locale.ROOT,
                        "  origin    %d bytes served = %.3fx the model's %d bytes (%s)%n",
                        origin.bytesServed(),
                        origin.bytesServed() / (double) model,
                        model,
                        FetchMode.parse(fetchMode).label());
                System.out.println("  cache dir " + dir.resolve("cache"));
                return s.allStaged() ? 0 : 1;
            }
        } finally {
            if (!keep) {
                deleteTree(dir);
            }
        }
    }

    private static long modelBytes(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : s.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                total += Files.size(p);
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
