package io.warmstage.source;

import io.warmstage.cache.LocalCache;
import io.warmstage.cache.PeerCopies;
import io.warmstage.host.HostDirs;
import io.warmstage.host.HostIdentity;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.source.enumerator.SplitPlanner;
import io.warmstage.source.enumerator.TargetKeys;
import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.enumerator.WeightSplitEnumerator;
import io.warmstage.source.reader.BufferPool;
import io.warmstage.source.reader.ChunkSplitReader;
import io.warmstage.source.reader.ReaderMetrics;
import io.warmstage.source.reader.WeightSourceReader;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.StorageOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The FLIP-27 source of safetensors chunks: every byte of every file of every model, once per
 * target slot, as {@link ChunkRecord}s of at most 4 MiB.
 *
 * <p>Its parallelism must equal the staging operator's, and the job must set the max parallelism
 * given here: reader {@code i} emits only records keyed for staging subtask {@code i}, so the
 * stream can be reinterpreted as keyed by {@code target} without a shuffle.
 *
 * <pre>{@code
 * WeightSource source = WeightSource.builder()
 *         .models(List.of(new ModelSpec("llama", "s3://bucket/llama/model.safetensors.index.json")))
 *         .targets(4, 128)
 *         .build();
 * env.setMaxParallelism(128);
 * DataStream<ChunkRecord> chunks =
 *         env.fromSource(source, WatermarkStrategy.noWatermarks(), "weights").setParallelism(4);
 * }</pre>
 */
public final class WeightSource
        implements Source<ChunkRecord, ChunkSplit, WeightEnumeratorState>,
                ResultTypeQueryable<ChunkRecord> {
    private static final long serialVersionUID = 1L;

    private final ModelCatalog catalog;
    private final int targets;
    private final int maxParallelism;
    private final Configuration config;
    private final String id = java.util.UUID.randomUUID().toString();

    private final Duration refresh;

    WeightSource(
            ModelCatalog catalog,
            int targets,
            int maxParallelism,
            Configuration config,
            Duration refresh) {
        this.catalog = catalog;
        this.refresh = refresh;
        this.targets = targets;
        this.maxParallelism = maxParallelism;
        this.config = config;
    }

    /** Starts building a source. */
    public static WeightSourceBuilder builder() {
        return new WeightSourceBuilder();
    }

    /** The key of each target, indexed by staging subtask. */
    public int[] targetKeys() {
        return TargetKeys.keys(targets, maxParallelism);
    }

    @Override
    public Boundedness getBoundedness() {
        return refresh == null ? Boundedness.BOUNDED : Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<ChunkRecord, ChunkSplit> createReader(SourceReaderContext ctx) {
        HostIdentity host = HostIdentity.of(ctx.metricGroup().getAllVariables(), config);
        ReaderMetrics metrics = ReaderMetrics.register(ctx.metricGroup());
        int inFlight = config.get(WeightSourceOptions.READS_IN_FLIGHT);
        int recordSize = (int) config.get(WeightSourceOptions.RECORD_SIZE).getBytes();
        BufferPool.Lease buffers =
                BufferPool.shared(id, config.get(WeightSourceOptions.BUFFER_POOL).getBytes())
                        .lease();
        return new WeightSourceReader(
                () -> {
                    ObjectStores stores = ObjectStores.create(config);
                    return new ChunkSplitReader(
                                    stores,
                                    stores.retryPolicy(),
                                    cache(host),
                                    recordSize,
                                    inFlight,
                                    buffers,
                                    config.get(StorageOptions.RETRY_BUDGET_PER_FILE))
                            .withMetrics(metrics)
                            .withKeptStagingFiles(stagingArea(host))
                            .withPeers(PeerCopies.of(config).orElse(null), ctx.getIndexOfSubtask());
                },
                inFlight,
                buffers,
                host.name(),
                config,
                ctx);
    }

    @Override
    public SplitEnumerator<ChunkSplit, WeightEnumeratorState> createEnumerator(
            SplitEnumeratorContext<ChunkSplit> ctx) {
        return restoreEnumerator(ctx, WeightEnumeratorState.empty());
    }

    @Override
    public SplitEnumerator<ChunkSplit, WeightEnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<ChunkSplit> ctx, WeightEnumeratorState state) {
        ObjectStores stores = ObjectStores.create(config);
        ModelPlanner planner =
                new ModelPlanner(
                        stores,
                        stores.retryPolicy(),
                        // Headers come from the configured cache dir when it holds the file (the
                        // embedded cluster's one host); elsewhere the lookup simply misses.
                        cache(new HostIdentity("enumerator", false)),
                        (int) config.get(WeightSourceOptions.HEADER_PREFETCH).getBytes());
        SplitPlanner splits =
                new SplitPlanner(config.get(WeightSourceOptions.SPLIT_SIZE).getBytes());
        return new WeightSplitEnumerator(
                ctx,
                catalog,
                planner,
                planner::plan,
                splits,
                targetKeys(),
                config.getOptional(WeightSourceOptions.CACHE_DIR).isPresent(),
                FetchMode.parse(config.get(FleetOptions.FETCH_MODE)),
                hostRelay(),
                refresh,
                state);
    }

    @Override
    public SimpleVersionedSerializer<ChunkSplit> getSplitSerializer() {
        return ChunkSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<WeightEnumeratorState> getEnumeratorCheckpointSerializer() {
        return new WeightEnumeratorStateSerializer();
    }

    @Override
    public TypeInformation<ChunkRecord> getProducedType() {
        return TypeInformation.of(ChunkRecord.class);
    }

    /** The fetch mode the job was built with. */
    public FetchMode fetchMode() {
        return FetchMode.parse(config.get(FleetOptions.FETCH_MODE));
    }

    /**
     * Whether the job relays chunks per host: fan-out with {@link FleetOptions#HOST_RELAY} on. Then
     * each record goes to a host's lead slot carrying the host's targets ({@code
     * ChunkRecord#relayTargets}), and the job needs a relay operator before staging.
     */
    public boolean hostRelay() {
        return fetchMode() == FetchMode.FAN_OUT && config.get(FleetOptions.HOST_RELAY);
    }

    /**
     * This host's staging area ({@code warmstage.staging.dir}, per simulated host), where slots cut
     * short by a failover keep their partly staged files for readers here to read again.
     */
    private Path stagingArea(HostIdentity host) {
        return HostDirs.stagingRoot(config, host);
    }

    private LocalCache cache(HostIdentity host) {
        Path dir = HostDirs.cacheDir(config, host).orElse(null);
        if (dir == null) {
            return null;
        }
        try {
            return LocalCache.open(dir, config);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the cache directory " + dir, e);
        }
    }
}
