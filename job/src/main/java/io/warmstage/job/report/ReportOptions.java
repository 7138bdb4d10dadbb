package io.warmstage.job.report;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Options of the cluster job's report. */
public final class ReportOptions {
    private ReportOptions() {}

    /** Where the cluster job writes its events as JSON lines (Flink's FileSink). */
    public static final ConfigOption<String> PATH =
            ConfigOptions.key("warmstage.report.path")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Directory URI (file://, s3://, any Flink file system) where the"
                                    + " cluster job writes its events as JSON lines, one part file"
                                    + " per writer, published when a checkpoint completes and at"
                                    + " the job's end. Unset: events go to the TaskManagers'"
                                    + " stdout.");
}
