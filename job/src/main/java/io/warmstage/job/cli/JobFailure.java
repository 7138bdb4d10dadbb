package io.warmstage.job.cli;

import org.apache.flink.runtime.JobException;
import org.apache.flink.runtime.client.JobExecutionException;
import org.apache.flink.util.ExceptionUtils;

/**
 * One line for a staging job that Flink failed, in place of the stack trace of the result fetch
 * that reported it: the deepest cause's message, and whether Flink had given up restarting it.
 */
final class JobFailure {
    private JobFailure() {}

    /**
     * @param e what the command threw
     * @return {@code "the staging job failed: <deepest cause>"} (with {@code " (no more restarts:
     *     restart-strategy)"} when Flink's restart strategy stopped it, and the log file's path
     *     when the launcher set {@code warmstage.log.file}), or null when {@code e} does not come
     *     from a failed job
     */
    static String describe(Throwable e) {
        if (ExceptionUtils.findThrowable(e, JobExecutionException.class).isEmpty()) {
            return null;
        }
        boolean suppressed =
                ExceptionUtils.findThrowable(
                                e,
                                t ->
                                        t instanceof JobException
                                                && t.getMessage() != null
                                                && t.getMessage()
                                                        .startsWith("Recovery is suppressed"))
                        .isPresent();
        Throwable deepest = ExceptionUtils.findThrowable(e, t -> t.getCause() == null).orElse(e);
        String what =
                deepest.getMessage() != null
                        ? deepest.getClass().getSimpleName() + ": " + deepest.getMessage()
                        : deepest.getClass().getName();
        String log = System.getProperty("warmstage.log.file");
        return "the staging job failed: "
                + what
                + (suppressed ? " (no more restarts: restart-strategy)" : "")
                + (log != null ? "; the whole trace is in " + log : "");
    }
}
