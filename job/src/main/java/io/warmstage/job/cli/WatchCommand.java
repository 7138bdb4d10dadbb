package io.warmstage.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.job.report.Summary;
import io.warmstage.job.report.SummaryOperator;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.JobID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code warmstage watch}: the progress line of a Warmstage job running on a Flink cluster, read
 * from its REST API (the same line as {@code stage}), then the job's final state and the totals its
 * summary operator published. Exit status: 0 when the job finished with every file staged, 1
 * otherwise.
 */
@Command(
        name = "watch",
        description =
                "Show the progress and summary of a Warmstage job on a running Flink cluster.")
final class WatchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> TERMINAL =
            Set.of("FINISHED", "FAILED", "CANCELED", "SUSPENDED");

    @Option(
            names = "--rest",
            paramLabel = "URI",
            defaultValue = "http://127.0.0.1:8081",
            description = "the cluster's REST API (default: ${DEFAULT-VALUE})")
    URI rest;

    @Option(
            names = "--job",
            paramLabel = "ID",
            description = "the job (default: the running job, else the latest one)")
    String job;

    @Option(
            names = "--every",
            paramLabel = "SECONDS",
            defaultValue = "2",
            description = "seconds between progress lines (default: ${DEFAULT-VALUE})")
    double every;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        URI base = URI.create(rest.toString().endsWith("/") ? rest.toString() : rest + "/");
        JobID id = job != null ? JobID.fromHexString(job) : pick(base);
        out.println("watching job " + id + " (" + name(base, id) + ") on " + base);
        String state;
        try (MetricsProgress p =
                new MetricsProgress(
                        () -> base, () -> id, out, Duration.ofMillis((long) (every * 1000)))) {
            while (!TERMINAL.contains(state = get(base, "jobs/" + id).path("state").asText())) {
                Thread.sleep(500); // polling interval of a wait for the job's end
            }
        }
        out.println("job " + id + " " + state);
        Map<String, Long> totals = totals(base, id);
        if (totals.isEmpty()) {
            out.println("no summary: the job published none (it did not finish)");
            return 1;
        }
        print(totals, out);
        return "FINISHED".equals(state) && totals.getOrDefault("filesFailed", 0L) == 0 ? 0 : 1;
    }

    /** The running job, else the one that started last; waits up to 60 s for one to appear. */
    private JobID pick(URI base) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JobID id;
        while ((id = latest(base)) == null && System.nanoTime() < deadline) {
            Thread.sleep(500); // polling interval of a wait for a submission
        }
        if (id == null) {
            throw new CliFailure("no job on the cluster at " + base + " within 60 s");
        }
        return id;
    }

    private JobID latest(URI base) throws Exception {
        JsonNode best = null;
        for (JsonNode j : get(base, "jobs/overview").path("jobs")) {
            boolean running = !TERMINAL.contains(j.path("state").asText());
            boolean bestRunning = best != null && !TERMINAL.contains(best.path("state").asText());
            if (best == null
                    || (running && !bestRunning)
                    || (running == bestRunning
                            && j.path("start-time").asLong() > best.path("start-time").asLong())) {
                best = j;
            }
        }
        return best == null ? null : JobID.fromHexString(best.path("jid").asText());
    }

    private String name(URI base, JobID id) throws Exception {
        return get(base, "jobs/" + id).path("name").asText();
    }

    private Map<String, Long> totals(URI base, JobID id) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        for (JsonNode a :
                get(base, "jobs/" + id + "/accumulators").path("user-task-accumulators")) {
            String name = a.path("name").asText();
            if (name.startsWith(SummaryOperator.ACCUMULATOR_PREFIX)) {
                out.put(
                        name.substring(SummaryOperator.ACCUMULATOR_PREFIX.length()),
                        a.path("value").asLong());
            }
        }
        return out;
    }

    private static void print(Map<String, Long> t, PrintStream out) {
        long bytes = t.getOrDefault("bytes", 0L);
        double secs = t.getOrDefault("stagingMillis", 0L) / 1000.0;
        out.println();
        out.println("Summary");
        row(out, "files", t.get("filesStaged") + " staged, " + t.get("filesFailed") + " failed");
        row(out, "tensors", Long.toString(t.getOrDefault("tensors", 0L)));
        row(out, "bytes", bytes + " (" + Summary.human(bytes) + ")");
        row(
                out,
                "seconds",
                String.format(Locale.ROOT, "%.3f staging (first byte to last model staged)", secs));
        row(out, "GB/s", String.format(Locale.ROOT, "%.3f", secs > 0 ? bytes / secs / 1e9 : 0.0));
        row(out, "cache", t.get("cacheHits") + " hits, " + t.get("cacheMisses") + " misses");
        out.println(
                "(failures and every event: the job's report, --report / warmstage.report.path)");
    }

    private static void row(PrintStream out, String name, String value) {
        out.printf(Locale.ROOT, "  %-9s %s%n", name, value);
    }

    private JsonNode get(URI base, String path) throws Exception {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(base.resolve(path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new CliFailure(
                    "GET " + base.resolve(path) + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }
}
