package io.warmstage.job.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.LogicalScopeProvider;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A metric reporter that keeps the byte counters of every task of an embedded cluster, so that they
 * can be read after the job has ended (Flink drops a task's metrics when it finishes): Flink's task
 * I/O counters ({@code numBytesOut}, {@code numBytesIn}, and {@code numBytesInLocal}, {@code
 * numBytesInRemote} of the {@code Shuffle.Netty.Input} group) and the Warmstage readers' {@code
 * bytesFromOrigin}, {@code bytesFromCache}, {@code bytesFromPeer}, {@code bytesFromStaging} and
 * {@code splitsRead}.
 *
 * <p>Use: {@link #install} into the cluster's configuration before it starts, then {@link #of} the
 * returned id once it runs; read the counters before the cluster closes.
 */
public final class TaskCounters implements MetricReporter {
    /** Counter names kept; all others are ignored. */
    static final Set<String> NAMES =
            Set.of(
                    "numBytesOut",
                    "numBytesIn",
                    "numBytesInLocal",
                    "numBytesInRemote",
                    "bytesFromOrigin",
                    "bytesFromCache",
                    "bytesFromPeer",
                    "bytesFromStaging",
                    "splitsRead");

    private static final String REPORTER = "warmstage-task-counters";
    private static final Map<String, TaskCounters> RUNNING = new ConcurrentHashMap<>();

    private final String id;
    private final Map<String, Kept> kept = new ConcurrentHashMap<>();

    /**
     * One kept counter.
     *
     * @param variables the metric group's variables ({@code <job_id>}, {@code <tm_id>}, {@code
     *     <task_name>}, {@code <subtask_index>}, ...)
     * @param scope the group's logical scope, e.g. {@code taskmanager.job.task} for a task's I/O
     *     counters, {@code taskmanager.job.task.Shuffle.Netty.Input} for the input channels'
     * @param name the counter's name
     * @param counter the counter (still readable after its task ended)
     */
    public record Kept(Map<String, String> variables, String scope, String name, Counter counter) {}

    private TaskCounters(String id) {
        this.id = id;
    }

    /**
     * Configures the reporter in {@code clusterConfig} (the configuration an embedded cluster
     * starts with).
     *
     * @return the id to pass to {@link #of} once the cluster has started
     */
    public static String install(Configuration clusterConfig) {
        String id = UUID.randomUUID().toString();
        clusterConfig.setString(
                "metrics.reporter." + REPORTER + ".factory.class", Factory.class.getName());
        clusterConfig.setString("metrics.reporter." + REPORTER + ".id", id);
        return id;
    }

    /**
     * The reporter a cluster started with {@link #install}'s {@code id}.
     *
     * @throws IllegalStateException if no running cluster has it
     */
    public static TaskCounters of(String id) {
        TaskCounters c = RUNNING.get(id);
        if (c == null) {
            throw new IllegalStateException(
                    "no task counters with id " + id + ": was the cluster started with them?");
        }
        return c;
    }

    /** Every counter kept so far, of every job. */
    public List<Kept> counters() {
        return new ArrayList<>(kept.values());
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {
        RUNNING.remove(id, this);
    }

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (!(metric instanceof Counter counter) || !NAMES.contains(name)) {
            return;
        }
        Map<String, String> variables = Map.copyOf(group.getAllVariables());
        if (!variables.containsKey("<job_id>")) {
            return;
        }
        String scope = group instanceof LogicalScopeProvider p ? p.getLogicalScope(s -> s) : "";
        // each attempt of a restarted task is kept: what a failed attempt moved counts too
        // identifiers alone collide: a task and its operator of the same name share one
        kept.put(
                String.join(
                        "|",
                        scope,
                        group.getMetricIdentifier(name),
                        String.valueOf(variables.get("<task_attempt_num>"))),
                new Kept(variables, scope, name, counter));
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        // kept on purpose: read after the task ends
    }

    /** Creates the reporter (found by Flink through {@code META-INF/services}). */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            String id = properties.getProperty("id");
            if (id == null) {
                throw new IllegalArgumentException(
                        "metrics.reporter."
                                + REPORTER
                                + ".id is not set: use TaskCounters.install");
            }
            TaskCounters c = new TaskCounters(id);
            RUNNING.put(id, c);
            return c;
        }
    }
}
