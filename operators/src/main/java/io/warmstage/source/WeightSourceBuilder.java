package io.warmstage.source;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.Configuration;

/** Builds a {@link WeightSource}; {@link #build()} checks the settings. */
public final class WeightSourceBuilder {
    private final List<ModelSpec> models = new ArrayList<>();
    private int targets = 1;
    private int maxParallelism = 128;
    private Configuration config = new Configuration();

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

    /** Options from {@link WeightSourceOptions} and the storage options. */
    public WeightSourceBuilder config(Configuration config) {
        this.config = new Configuration(config);
        return this;
    }

    /**
     * @throws IllegalArgumentException with what is wrong: no models, duplicate names, targets
     *     outside [1, maxParallelism], or a record size above the split size
     */
    public WeightSource build() {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("no models to stage");
        }
        Set<String> names = new HashSet<>();
        Set<String> uris = new HashSet<>();
        for (ModelSpec m : models) {
            if (!uris.add(m.uri())) {
                throw new IllegalArgumentException("model URI " + m.uri() + " listed twice");
            }
            if (!names.add(m.name())) {
                throw new IllegalArgumentException("model name '" + m.name() + "' used twice");
            }
        }
        if (targets < 1 || targets > maxParallelism) {
            throw new IllegalArgumentException(
                    "targets must be in [1, " + maxParallelism + "], got " + targets);
        }
        long record = config.get(WeightSourceOptions.RECORD_SIZE).getBytes();
        if (record < 1 || record > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("record size out of range: " + record);
        }
        return new WeightSource(models, targets, maxParallelism, config);
    }
}
