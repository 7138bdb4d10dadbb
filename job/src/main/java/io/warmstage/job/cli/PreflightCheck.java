package io.warmstage.job.cli;

import io.warmstage.device.DeviceException;
import io.warmstage.device.GpuOptions;
import io.warmstage.device.SlotGpu;
import io.warmstage.host.HostDirs;
import io.warmstage.job.StagingPipeline;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.WeightSource;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.Redaction;
import io.warmstage.storage.StorageOptions;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Checks a staging run's settings before any cluster starts, so that a wrong option or path is one
 * line and exit status 2, not a failed job: every model URI has a supported scheme, every Warmstage
 * option parses and is in range, the cache directory is a writable directory, the report path is
 * not a directory and its parent can be created.
 */
final class PreflightCheck {
    private static final List<Class<?>> OPTION_CLASSES =
            List.of(
                    WeightSourceOptions.class,
                    StagingOptions.class,
                    StorageOptions.class,
                    GpuOptions.class);

    private PreflightCheck() {}

    /**
     * @throws ParameterException naming the option or path and what is wrong
     */
    static void check(
            CommandLine cmd, List<ModelSpec> models, Configuration conf, int slots, Path report) {
        try {
            readEveryOption(conf);
            checkDurationsPositive(conf);
            SlotGpu.checkOrdinals(conf);
            WeightSource.builder()
                    .models(models)
                    .targets(slots, StagingPipeline.MAX_PARALLELISM)
                    .config(conf)
                    .build();
            for (ModelSpec m : models) {
                ObjectStores.toUri(m.uri()); // an unsupported scheme is a usage error
            }
            StorageOptions.retryPolicy(conf);
            checkCacheDir(conf);
            checkStagingDir(conf);
            checkReport(report);
        } catch (IllegalArgumentException | IOException | DeviceException e) {
            throw new ParameterException(cmd, Redaction.text(e.getMessage()));
        }
    }

    /** Timeouts and budgets of 0 or less would fail every read: refuse them. */
    private static void checkDurationsPositive(Configuration conf) {
        for (ConfigOption<Duration> option :
                List.of(
                        StorageOptions.HTTP_CONNECT_TIMEOUT,
                        StorageOptions.HTTP_REQUEST_TIMEOUT,
                        StorageOptions.HTTP_STALL_TIMEOUT,
                        StorageOptions.RETRY_BUDGET,
                        StorageOptions.RETRY_BUDGET_PER_FILE)) {
            Duration d = conf.get(option);
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(
                        option.key() + " must be longer than 0, got " + d);
            }
        }
    }

    /** Reads every Warmstage option, so that a value that does not parse fails here. */
    private static void readEveryOption(Configuration conf) {
        for (Class<?> holder : OPTION_CLASSES) {
            for (Field f : holder.getFields()) {
                if (Modifier.isStatic(f.getModifiers())
                        && ConfigOption.class.isAssignableFrom(f.getType())) {
                    ConfigOption<?> option = optionIn(f);
                    try {
                        conf.getOptional(option);
                    } catch (RuntimeException e) {
                        throw new IllegalArgumentException(option.key() + ": " + e.getMessage(), e);
                    }
                }
            }
        }
    }

    private static ConfigOption<?> optionIn(Field f) {
        try {
            return (ConfigOption<?>) f.get(null);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void checkCacheDir(Configuration conf) throws IOException {
        String dir = conf.getOptional(WeightSourceOptions.CACHE_DIR).orElse(null);
        if (dir == null) {
            return;
        }
        Path p = Path.of(dir);
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new IllegalArgumentException("cache directory " + p + " is not a directory");
        }
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cache directory " + p + " cannot be created (" + e + ")");
        }
        if (!Files.isWritable(p)) {
            throw new IllegalArgumentException("cache directory " + p + " is not writable");
        }
    }

    /**
     * The cpu device's staging directory (a device that cannot be opened would make every slot fail
     * and restart forever): it must be, or become, a writable directory.
     */
    private static void checkStagingDir(Configuration conf) {
        String device = conf.get(StagingOptions.DEVICE).trim();
        if (!device.equals("cpu") && !device.equals("auto")) {
            return;
        }
        Path p = HostDirs.stagingDir(conf);
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new IllegalArgumentException(
                    "staging directory " + p + " (warmstage.staging.dir) is not a directory");
        }
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "staging directory "
                            + p
                            + " (warmstage.staging.dir) cannot be created ("
                            + e
                            + ")");
        }
        if (!Files.isWritable(p)) {
            throw new IllegalArgumentException(
                    "staging directory " + p + " (warmstage.staging.dir) is not writable");
        }
        try {
            Files.deleteIfExists(Files.createTempFile(p, ".probe-", ".tmp")); // a read-only mount
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "staging directory "
                            + p
                            + " (warmstage.staging.dir) is not writable ("
                            + e
                            + ")");
        }
    }

    private static void checkReport(Path report) throws IOException {
        if (report == null) {
            return;
        }
        if (Files.isDirectory(report)) {
            throw new IllegalArgumentException("report " + report + " is a directory");
        }
        Path parent = report.toAbsolutePath().getParent();
        for (Path p = parent; p != null; p = p.getParent()) {
            if (Files.exists(p) && !Files.isDirectory(p)) {
                throw new IllegalArgumentException(
                        "report " + report + ": " + p + " is a file, not a directory");
            }
        }
        if (parent != null) {
            try {
                Files.createDirectories(parent);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "report "
                                + report
                                + ": cannot create directory "
                                + parent
                                + " ("
                                + e
                                + ")");
            }
        }
        if (Files.exists(report) && !Files.isWritable(report)) {
            throw new IllegalArgumentException("report " + report + " is not writable");
        }
    }
}
