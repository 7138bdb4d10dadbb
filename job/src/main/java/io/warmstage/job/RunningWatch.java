package io.warmstage.job;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;

/** Notes the moment a job reaches RUNNING (or ends), polling its status every 10 ms. */
final class RunningWatch {
    private RunningWatch() {}

    /**
     * A future completed with {@link System#currentTimeMillis()} when {@code job} is first seen
     * RUNNING.
     */
    static CompletableFuture<Long> start(JobClient job) {
        CompletableFuture<Long> seen = new CompletableFuture<>();
        ScheduledExecutorService timer =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "warmstage-job-status");
                            t.setDaemon(true);
                            return t;
                        });
        timer.scheduleWithFixedDelay(
                () -> {
                    JobStatus status = job.getJobStatus().exceptionally(e -> null).join();
                    if (status == JobStatus.RUNNING) {
                        seen.complete(System.currentTimeMillis());
                    } else if (status != null && status.isTerminalState()) {
                        seen.completeExceptionally(new IllegalStateException("job " + status));
                    }
                },
                0,
                10,
                TimeUnit.MILLISECONDS);
        seen.whenComplete((t, e) -> timer.shutdownNow());
        return seen;
    }
}
