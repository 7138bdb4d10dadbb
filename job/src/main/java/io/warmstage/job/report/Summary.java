package io.warmstage.job.report;

import io.warmstage.staging.StagingEvent;
import io.warmstage.storage.Redaction;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Totals of one run, built from its events: models, files, tensors, bytes, seconds, GB/s, cache
 * hits and misses, failures.
 */
public final class Summary {
    private final List<StagingEvent> failedFiles = new ArrayList<>();
    private final List<StagingEvent> failedCache = new ArrayList<>();
    private final Set<Integer> slots = new TreeSet<>();
    private int files;
    private long tensors;
    private long tensorBytes;
    private long bytes;
    private int hits;
    private int misses;
    private double seconds;

    /** Each (model, slot)'s latest model event. */
    private final Map<String, StagingEvent> latest = new LinkedHashMap<>();

    private double wallSeconds;

    /** Counts one event. */
    public void add(StagingEvent e) {
        switch (e.event) {
            case StagingEvent.TENSOR -> {
                tensors++;
                tensorBytes += e.bytes;
            }
            case StagingEvent.FILE -> addFile(e);
            case StagingEvent.MODEL -> {
                slots.add(e.slot);
                // A refreshing job may stage a model again: each slot's latest event counts.
                latest.put(e.model + "\n" + e.slot, e);
            }
            case StagingEvent.CACHE -> {
                if ("failed".equals(e.status) || "corrupt".equals(e.status)) {
                    failedCache.add(e); // a warning: the file itself staged
                }
            }
            default -> {}
        }
    }

    /** Counts {@code count} tensors of {@code bytes} bytes in all, without their events. */
    public void addTensors(long count, long bytes) {
        tensors = Math.addExact(tensors, count);
        tensorBytes = Math.addExact(tensorBytes, bytes);
    }

    /**
     * Sets the times, in seconds.
     *
     * @param staging from the job reaching RUNNING to its last model staged
     * @param wall the whole command, cluster start and job deployment included
     */
    public void seconds(double staging, double wall) {
        seconds = staging;
        wallSeconds = wall;
    }

    /** The staging time in seconds. */
    public double stagingSeconds() {
        return seconds;
    }

    public int filesStaged() {
        return files;
    }

    public int filesFailed() {
        return failedFiles.size();
    }

    public long bytes() {
        return bytes;
    }

    public long tensors() {
        return tensors;
    }

    /** Bytes of the tensors in device memory so far, over every slot. */
    public long tensorBytes() {
        return tensorBytes;
    }

    public int cacheHits() {
        return hits;
    }

    public int cacheMisses() {
        return misses;
    }

    /**
     * True if every file staged on every slot. A cache entry that could not be published is a
     * warning, not a failure: the cache is best effort.
     */
    public boolean allStaged() {
        return failedFiles.isEmpty();
    }

    /** Staged bytes per second over the staging time, in GB/s (10^9 bytes). */
    public double gigabytesPerSecond() {
        return seconds > 0 ? bytes / seconds / 1e9 : 0;
    }

    /** Prints the summary table and one line per failure. */
    public void print(PrintStream out) {
        // A model failed if its latest event on any slot says so.
        Map<String, Boolean> failed = new LinkedHashMap<>();
        latest.values()
                .forEach(m -> failed.merge(m.model, "failed".equals(m.status), Boolean::logicalOr));
        long modelsFailed = failed.values().stream().filter(f -> f).count();
        out.println();
        out.println("Summary");
        row(out, "models", (failed.size() - modelsFailed) + " staged, " + modelsFailed + " failed");
        if (slots.size() > 1) {
            row(out, "slots", slots.size() + " (files, tensors and bytes count every slot's copy)");
        }
        row(out, "files", files + " staged, " + failedFiles.size() + " failed");
        row(out, "tensors", Long.toString(tensors));
        row(out, "bytes", bytes + " (" + human(bytes) + ")");
        row(
                out,
                "seconds",
                String.format(
                        Locale.ROOT,
                        "%.3f staging (job running to last model staged), %.3f whole command",
                        seconds,
                        wallSeconds));
        row(
                out,
                "GB/s",
                String.format(Locale.ROOT, "%.3f (over the staging time)", gigabytesPerSecond()));
        row(out, "cache", hits + " hits, " + misses + " misses");
        row(out, "failures", Integer.toString(failedFiles.size()));
        failureLines().forEach(out::println);
    }

    /**
     * One line per failed file and reason, naming the slots (or hosts) it failed on when the run
     * had more than one; then one line per cache warning, and one for a reason shared by several
     * files (an origin the cache does not trust).
     */
    public List<String> failureLines() {
        Map<String, Set<String>> failures = new LinkedHashMap<>();
        Map<String, Set<String>> hosts = new LinkedHashMap<>();
        for (StagingEvent f : failedFiles) {
            String line = withFile(f.file, f.reason);
            failures.computeIfAbsent(line, k -> new TreeSet<>()).add(Integer.toString(f.slot));
            if (f.host != null) {
                hosts.computeIfAbsent(line, k -> new TreeSet<>()).add(f.host);
            }
        }
        List<String> lines = new ArrayList<>();
        failures.forEach((line, on) -> lines.add("  FAILED " + line + where(on, hosts.get(line))));
        Map<String, Set<String>> warnings = new LinkedHashMap<>();
        for (StagingEvent c : failedCache) {
            if ("corrupt".equals(c.status)) {
                lines.add("  WARNING " + Redaction.text(c.reason));
                continue;
            }
            boolean shared = c.reason != null && c.reason.startsWith("not cached: ");
            String line = shared ? Redaction.text(c.reason) : withFile(c.file, c.reason);
            warnings.computeIfAbsent(line, k -> new TreeSet<>()).add(Redaction.uri(c.file));
        }
        warnings.forEach(
                (line, files) ->
                        lines.add(
                                line.startsWith("not cached: ")
                                        ? "  WARNING " + line + " (" + files.size() + " file(s))"
                                        : "  WARNING not cached: " + line));
        return lines;
    }

    private String where(Set<String> onSlots, Set<String> onHosts) {
        if (slots.size() <= 1 && onSlots.size() <= 1) {
            return "";
        }
        if (onHosts != null && onHosts.size() > 1) {
            return " (on " + onSlots.size() + " slots of hosts " + String.join(", ", onHosts) + ")";
        }
        return " (on slot" + (onSlots.size() > 1 ? "s " : " ") + String.join(", ", onSlots) + ")";
    }

    /** Bytes as a human-readable size with binary units. */
    public static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }

    /** The reason, prefixed with the file unless it already names it first. */
    private static String withFile(String rawFile, String rawReason) {
        String file = Redaction.uri(rawFile);
        String reason = Redaction.text(rawReason);
        return reason != null && reason.startsWith(file) ? reason : file + ": " + reason;
    }

    private void addFile(StagingEvent e) {
        if ("failed".equals(e.status)) {
            failedFiles.add(e);
            return;
        }
        files++;
        bytes += e.bytes;
        if ("hit".equals(e.cache)) {
            hits++;
        } else if ("miss".equals(e.cache)) {
            misses++;
        }
    }

    private static void row(PrintStream out, String name, String value) {
        out.printf(Locale.ROOT, "  %-9s %s%n", name, value);
    }
}
