package io.warmstage.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.job.EmbeddedRunner;
import io.warmstage.job.report.Summary;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.flink.api.common.JobID;

/**
 * The CLI's progress line, read from the running job's Flink metrics through the REST API (the same
 * numbers the Web UI shows), summed over all subtasks: bytes staged of the bytes to stage per
 * model, bytes fetched from the origin, from the host caches and from peers' caches (when any),
 * files staged and failed, retries.
 */
final class MetricsProgress implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Supplier<URI> webUi;
    private final Supplier<JobID> job;
    private final PrintStream out;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ScheduledExecutorService timer =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "warmstage-progress");
                        t.setDaemon(true);
                        return t;
                    });
    private final long start = System.nanoTime();
    private long lastFetched;
    private long lastNanos = start;

    MetricsProgress(EmbeddedRunner runner, PrintStream out, Duration every) {
        this(runner::webUi, runner::currentJob, out, every);
    }

    /**
     * Prints the progress of the job {@code job} names (null: none yet) on the cluster whose REST
     * API is at {@code webUi}, every {@code every}.
     */
    MetricsProgress(Supplier<URI> webUi, Supplier<JobID> job, PrintStream out, Duration every) {
        this.webUi = webUi;
        this.job = job;
        this.out = out;
        timer.scheduleWithFixedDelay(
                this::printQuietly, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    private void printQuietly() {
        try {
            JobID id = job.get();
            if (id != null) {
                Snapshot s = read(webUi.get(), id);
                if (s != null) {
                    print(s);
                }
            }
        } catch (Exception e) {
            // the job is between states or ending: skip this tick
        }
    }

    private void print(Snapshot s) {
        long now = System.nanoTime();
        double secs = (now - start) / 1e9;
        long peers = s.sum("bytesFromPeer");
        long fetched = s.sum("bytesFromOrigin") + s.sum("bytesFromCache") + peers;
        double rate = (fetched - lastFetched) / Math.max(1e-9, (now - lastNanos) / 1e9);
        lastFetched = fetched;
        lastNanos = now;
        StringBuilder models = new StringBuilder();
        s.models.forEach(
                (name, v) -> {
                    long done = v[0];
                    long total = v[1];
                    if (done == 0 && total == 0) {
                        return; // released, or not begun anywhere
                    }
                    models.append(
                            String.format(
                                    Locale.ROOT,
                                    "  %s %s",
                                    name,
                                    total > 0
                                            ? String.format(
                                                    Locale.ROOT, "%.0f%%", 100.0 * done / total)
                                            : Summary.human(done)));
                });
        out.printf(
                Locale.ROOT,
                "  %6.1fs  staged %s of %s  origin %s  cache %s%s  %.0f MB/s  files %d staged,"
                        + " %d failed  retries %d%s%n",
                secs,
                Summary.human(s.sum("bytesStaged")),
                Summary.human(s.sum("bytesToStage")),
                Summary.human(s.sum("bytesFromOrigin")),
                Summary.human(s.sum("bytesFromCache")),
                peers > 0 ? "  peers " + Summary.human(peers) : "",
                rate / 1e6,
                s.sum("filesStaged"),
                s.sum("filesFailed"),
                s.sum("rangeRetries"),
                models);
    }

    /** Sums of the job's metrics over every vertex and subtask. */
    static final class Snapshot {
        final Map<String, Long> sums = new TreeMap<>();

        /** Per model: bytes staged, bytes to stage (summed over its slots). */
        final Map<String, long[]> models = new TreeMap<>();

        long sum(String metric) {
            return sums.getOrDefault(metric, 0L);
        }
    }

    /**
     * Reads the job's metrics.
     *
     * @return null when the job has no vertices yet
     */
    Snapshot read(URI webUi, JobID job) throws Exception {
        JsonNode vertices = get(webUi, "/jobs/" + job).path("vertices");
        if (!vertices.isArray() || vertices.isEmpty()) {
            return null;
        }
        Snapshot s = new Snapshot();
        for (JsonNode v : vertices) {
            String base =
                    "/jobs/" + job + "/vertices/" + v.path("id").asText() + "/subtasks/metrics";
            List<String> wanted = new ArrayList<>();
            for (JsonNode m : get(webUi, base)) {
                String id = m.path("id").asText();
                if (id.contains(",")) {
                    continue; // the REST API separates metric names by commas
                }
                if (id.endsWith(".bytesStaged")
                        || id.endsWith(".bytesToStage")
                        || id.endsWith(".bytesFromOrigin")
                        || id.endsWith(".bytesFromCache")
                        || id.endsWith(".bytesFromPeer")
                        || id.endsWith(".rangeRetries")
                        || id.endsWith(".filesStaged")
                        || id.endsWith(".filesFailed")) {
                    wanted.add(id);
                }
            }
            if (wanted.isEmpty()) {
                continue;
            }
            String query =
                    "?agg=sum&get="
                            + URLEncoder.encode(String.join(",", wanted), StandardCharsets.UTF_8);
            for (JsonNode m : get(webUi, base + query)) {
                String id = m.path("id").asText();
                long value = (long) m.path("sum").asDouble();
                int model = id.indexOf(".model.");
                String metric = id.substring(id.lastIndexOf('.') + 1);
                if (model >= 0) {
                    String name = id.substring(model + ".model.".length(), id.lastIndexOf('.'));
                    long[] mv = s.models.computeIfAbsent(name, k -> new long[2]);
                    mv["bytesStaged".equals(metric) ? 0 : 1] += value;
                    s.sums.merge(metric, value, Long::sum);
                } else if (!"bytesStaged".equals(metric)) {
                    s.sums.merge(metric, value, Long::sum); // slot-wide bytesStaged = models' sum
                }
            }
        }
        return s;
    }

    private JsonNode get(URI webUi, String path) throws Exception {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(webUi.resolve(path))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }
}
