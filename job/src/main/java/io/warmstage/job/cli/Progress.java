package io.warmstage.job.cli;

import io.warmstage.job.report.Summary;
import io.warmstage.staging.StagingEvent;
import java.io.PrintStream;
import java.util.Locale;

/** Prints one progress line at most every half second while events arrive. */
final class Progress {
    private final PrintStream out;
    private final long start = System.nanoTime();
    private long lastPrint;
    private int files;
    private int failed;
    private long tensors;
    private long bytes;

    Progress(PrintStream out) {
        this.out = out;
    }

    void accept(StagingEvent e) {
        switch (e.event) {
            case StagingEvent.TENSOR -> {
                tensors++;
                bytes += e.bytes;
            }
            case StagingEvent.FILE -> {
                if ("failed".equals(e.status)) {
                    failed++;
                } else {
                    files++;
                }
            }
            default -> {}
        }
        long now = System.nanoTime();
        if (now - lastPrint > 500_000_000L || StagingEvent.MODEL.equals(e.event)) {
            lastPrint = now;
            print(now);
        }
    }

    private void print(long now) {
        double s = (now - start) / 1e9;
        out.printf(
                Locale.ROOT,
                "  %6.1fs  files %d staged, %d failed  tensors %d  %s  %.0f MB/s%n",
                s,
                files,
                failed,
                tensors,
                Summary.human(bytes),
                s > 0 ? bytes / s / 1e6 : 0.0);
    }
}
