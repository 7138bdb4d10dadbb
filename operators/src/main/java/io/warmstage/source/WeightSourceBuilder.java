package io.warmstage.source;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;

/** Builds a {@link WeightSource}; {@link #build()} checks the settings. */
public final class WeightSourceBuilder {
    private final List<ModelSpec> models = new ArrayList<>();
    private int targets = 1;
    private int maxParallelism = 128;
    private Configuration config = new Configuration();
    private ModelCatalog catalog;
    private Duration refresh;

    WeightSourceBuilder() {}

    /** Adds models to stage. Names must be unique. */
    public WeightSourceBuilder models(List<ModelSpec> more) {
        models.addAll(more);
        return this;
    }

    /**
     * @param targets number of staging slots (the staging operator's parallelism)
     * @param maxParallelism the job's max parallelism (key groups); at least {@code targets}
     */
    public WeightSourceBuilder targets(int targets, int maxParallelism) {
        this.targets = targets;
        this.maxParallelism = maxParallelism;
        return this;
    }

    /**
     * Keeps the source running and reads {@code catalog} again every {@code interval}: changed
     * models are staged again, removed ones released. The models given to {@link #models} are the
     * first catalog read's expected content and are checked like any others.
     *
     * @param interval at least one second
     */
    public WeightSourceBuilder refresh(ModelCatalog catalog, Duration interval) {
        if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException(
                    "refresh interval must be at least 1 s: " + interval);
        }
        this.catalog = catalog;
        this.refresh = interval;
        return this;
    }

    /** Options from {@link WeightSourceOptions} and the storage options. */
    public WeightSourceBuilder config(Configuration config) {
        this.config = new Configuration(config);
        return this;
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(key + " must be at least " + min + ", got " + value);
        }
    }

    /**
     * @throws IllegalArgumentException with what is wrong: no models, duplicate names, targets
     *     outside [1, maxParallelism], or a record size above the split size
     */
    public WeightSource build() {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("no models to stage");
        }
        ModelCatalog.checkUnique(models);
        if (targets < 1 || targets > maxParallelism) {
            throw new IllegalArgumentException(
                    "targets must be in [1, " + maxParallelism + "], got " + targets);
        }
        long record = config.get(WeightSourceOptions.RECORD_SIZE).getBytes();
        if (record < 1 || record > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(
                    WeightSourceOptions.RECORD_SIZE.key()
                            + " must be 1 byte to 2 GiB, got "
                            + record);
        }
        atLeast(
                WeightSourceOptions.SPLIT_SIZE.key(),
                config.get(WeightSourceOptions.SPLIT_SIZE).getBytes(),
                1);
        atLeast(
                WeightSourceOptions.READS_IN_FLIGHT.key(),
                config.get(WeightSourceOptions.READS_IN_FLIGHT),
                1);
        atLeast(
                WeightSourceOptions.BUFFER_POOL.key(),
                config.get(WeightSourceOptions.BUFFER_POOL).getBytes(),
                1024);
        atLeast(
                WeightSourceOptions.HEADER_PREFETCH.key(),
                config.get(WeightSourceOptions.HEADER_PREFETCH).getBytes(),
                8);
        for (ModelSpec m : models) {
            if (m.uri().isBlank()) {
                throw new IllegalArgumentException("empty model URI");
            }
        }
        try {
            FetchMode.parse(config.get(FleetOptions.FETCH_MODE));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    FleetOptions.FETCH_MODE.key() + ": " + e.getMessage(), e);
        }
        return new WeightSource(
                catalog != null ? catalog : ModelCatalog.of(models),
                targets,
                maxParallelism,
                config,
                refresh);
    }
}
