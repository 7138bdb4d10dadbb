package io.warmstage.job.cli;

import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.report.ReportWriter;
import io.warmstage.job.report.Summary;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ModelCatalog;
import io.warmstage.staging.StagingEvent;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.Configuration;

/** One embedded staging run as the CLI shows it: Web UI URL, progress, report, summary. */
final class StageRun {
    private StageRun() {}

    /**
     * Stages {@code models} and prints the summary.
     *
     * @param report JSON-lines report file, or null
     * @param keepUiSeconds how long the cluster and its Web UI stay up after the summary, in
     *     seconds (0: shut down at once)
     * @return the summary; {@link Summary#allStaged()} says whether every file staged
     */
    static Summary run(
            List<ModelSpec> models,
            Configuration warmstage,
            Configuration flink,
            int slots,
            Path report,
            int keepUiSeconds,
            PrintStream out)
            throws Exception {
        return run(models, warmstage, flink, 1, slots, null, null, report, keepUiSeconds, out);
    }

    /**
     * Stages {@code models} on {@code taskManagers} x {@code slotsPerTaskManager} slots (more than
     * one TaskManager: a fleet simulation, one simulated host each) and prints the summary; with a
     * refresh interval the job runs until it is cancelled (Ctrl-C).
     */
    static Summary run(
            List<ModelSpec> models,
            Configuration warmstage,
            Configuration flink,
            int taskManagers,
            int slotsPerTaskManager,
            ModelCatalog catalog,
            Duration refresh,
            Path report,
            int keepUiSeconds,
            PrintStream out)
            throws Exception {
        Summary summary = new Summary();
        Progress progress = new Progress(out, summary);
        int slots = taskManagers * slotsPerTaskManager;
        try (EmbeddedRunner runner =
                EmbeddedRunner.start(taskManagers, slotsPerTaskManager, flink)) {
            out.println("Flink Web UI: " + runner.webUi());
            out.println(
                    "Staging "
                            + models.size()
                            + " model(s) on "
                            + slots
                            + " slot(s)"
                            + (taskManagers > 1
                                    ? " of "
                                            + taskManagers
                                            + " simulated hosts ("
                                            + warmstage.get(FleetOptions.FETCH_MODE)
                                            + ")"
                                    : "")
                            + (refresh == null ? "" : ", re-checking every " + refresh));
            // A refreshing job ends with Ctrl-C: print what it staged so far.
            long[] eventSpan = {Long.MAX_VALUE, 0}; // first event, last model event (ms)
            Thread onInterrupt =
                    new Thread(
                            () -> {
                                long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
                                long now = System.currentTimeMillis();
                                summary.seconds(
                                        eventSpan[1] > eventSpan[0]
                                                ? (eventSpan[1] - eventSpan[0]) / 1e3
                                                : 0,
                                        (now - jvmStart) / 1e3);
                                out.println();
                                summary.print(out);
                                out.flush();
                            },
                            "warmstage-summary");
            if (refresh != null) {
                Runtime.getRuntime().addShutdownHook(onInterrupt);
            }
            try (ReportWriter writer = report == null ? null : open(report);
                    MetricsProgress metrics =
                            new MetricsProgress(runner, out, Duration.ofSeconds(2))) {
                double seconds =
                        runner.run(
                                models,
                                warmstage,
                                slots,
                                e -> {
                                    eventSpan[0] = Math.min(eventSpan[0], e.at);
                                    if (StagingEvent.MODEL.equals(e.event)) {
                                        eventSpan[1] = Math.max(eventSpan[1], e.at);
                                    }
                                    summary.add(e);
                                    progress.accept(e);
                                    write(writer, e);
                                },
                                catalog,
                                refresh);
                long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
                summary.seconds(seconds, (System.currentTimeMillis() - jvmStart) / 1e3);
            }
            summary.print(out);
            if (report != null) {
                out.println("  report    " + report);
            }
            if (keepUiSeconds > 0) {
                out.println(
                        "Web UI stays up at "
                                + runner.webUi()
                                + " for "
                                + keepUiSeconds
                                + " s (Ctrl-C to quit)");
                Thread.sleep(keepUiSeconds * 1000L);
            }
        }
        return summary;
    }

    private static ReportWriter open(Path report) throws IOException {
        Path parent = report.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return new ReportWriter(Files.newBufferedWriter(report, StandardCharsets.UTF_8));
    }

    private static void write(ReportWriter writer, StagingEvent e) {
        if (writer == null) {
            return;
        }
        try {
            writer.write(e);
            if (!StagingEvent.TENSOR.equals(e.event)) {
                writer.flush(); // a file or model done is on disk, even if the run is killed
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
