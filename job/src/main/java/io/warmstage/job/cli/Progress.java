package io.warmstage.job.cli;

import io.warmstage.job.report.Summary;
import io.warmstage.staging.StagingEvent;
import io.warmstage.storage.Redaction;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Prints a line when a model is done on a slot (staged, failed or released; a failure once per
 * model and reason, however many slots it failed on), from the run's {@link Summary} (which must
 * have counted the event first). The periodic progress line comes from the job's metrics ({@link
 * MetricsProgress}); events arrive once the checkpoint that covers them completes.
 */
final class Progress {
    private final PrintStream out;
    private final Summary summary;
    private final long start = System.nanoTime();
    private long lastPrint;

    /** Model failures printed (one line per model and reason; the summary lists every slot). */
    private final Set<String> failuresShown = new HashSet<>();

    Progress(PrintStream out, Summary summary) {
        this.out = out;
        this.summary = summary;
    }

    void accept(StagingEvent e) {
        long now = System.nanoTime();
        boolean repeated =
                e.reason != null && !failuresShown.add(e.event + "\n" + e.model + "\n" + e.reason);
        if ((StagingEvent.MODEL.equals(e.event) || StagingEvent.RELEASE.equals(e.event))
                && !repeated) {
            out.printf(
                    Locale.ROOT,
                    "  model %s %s on slot %d%s%s%n",
                    Redaction.text(e.model),
                    e.status,
                    e.slot,
                    e.host == null ? "" : " (" + e.host + ")",
                    e.reason == null ? "" : ": " + Redaction.text(e.reason));
        }
        if (now - lastPrint > 500_000_000L || StagingEvent.MODEL.equals(e.event)) {
            lastPrint = now;
            print(now);
        }
    }

    private void print(long now) {
        double s = (now - start) / 1e9;
        long bytes = summary.tensorBytes();
        out.printf(
                Locale.ROOT,
                "  %6.1fs  files %d staged, %d failed  tensors %d  %s  %.0f MB/s%n",
                s,
                summary.filesStaged(),
                summary.filesFailed(),
                summary.tensors(),
                Summary.human(bytes),
                s > 0 ? bytes / s / 1e6 : 0.0);
    }
}
