package io.warmstage.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.ExecutionException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.JobException;
import org.apache.flink.runtime.client.JobExecutionException;
import org.junit.jupiter.api.Test;

/** The one line a failed staging job leaves on the command line. */
class JobFailureTest {
    private static final String BUFFERS =
            "Insufficient number of network buffers: required 2, but only 0 available.";

    /** As the collect iterator throws it when the job fails (seen from `warmstage stage`). */
    private static Throwable fetchFailure(Throwable jobCause) {
        JobExecutionException failed =
                new JobExecutionException(new JobID(), "Job execution failed.", jobCause);
        return new RuntimeException(
                "Failed to fetch next result",
                new IOException(
                        "Failed to fetch job execution result", new ExecutionException(failed)));
    }

    @Test
    void aJobThatFlinkStoppedRestartingNamesItsDeepestCause() {
        Throwable e =
                fetchFailure(
                        new JobException(
                                "Recovery is suppressed by ExponentialDelayRestartBackoffTimeStrategy",
                                new IOException(BUFFERS)));
        String line = JobFailure.describe(e);
        assertThat(line)
                .startsWith(
                        "the staging job failed: IOException: "
                                + BUFFERS
                                + " (no more restarts: restart-strategy)");
        String log = System.getProperty("warmstage.log.file");
        assertThat(line.contains("; the whole trace is in ")).isEqualTo(log != null);
    }

    @Test
    void aJobThatFailedWithoutRestartsSaysNothingOfThem() {
        String line = JobFailure.describe(fetchFailure(new IllegalStateException("boom")));
        assertThat(line).startsWith("the staging job failed: IllegalStateException: boom");
        assertThat(line).doesNotContain("restarts");
    }

    @Test
    void anythingElseIsNotAJobFailure() {
        assertThat(JobFailure.describe(new RuntimeException("x", new IOException(BUFFERS))))
                .isNull();
    }
}
