package io.warmstage.job;

import io.warmstage.cache.CacheOp;
import io.warmstage.cache.CacheResult;
import io.warmstage.cache.CacheWriter;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.ModelCatalog;
import io.warmstage.source.WeightSource;
import io.warmstage.source.WeightSourceBuilder;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.HostRelay;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingFunction;
import io.warmstage.staging.StagingOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The Warmstage dataflow: weight source, per-target staging (chained, no shuffle; per-host and
 * fan-out through a keyed exchange, fan-out with the host relay through a relay per slot first),
 * and the asynchronous cache writer on the staging side output. The caller chooses the sink of the
 * returned events, so tests and the embedded runner collect them and a cluster job writes them.
 */
public final class StagingPipeline {
    /** Max parallelism (key groups) of every Warmstage job; the source's key math uses it. */
    public static final int MAX_PARALLELISM = 128;

    /**
     * Cache operations in flight per slot: chunk bytes waiting for the cache writer take at most
     * this many records (x record size) of host memory beyond the source's buffer pool.
     */
    static final int CACHE_QUEUE = 16;

    /**
     * Name and uid of the host relay operator (fan-out with {@code warmstage.fleet.host-relay}).
     */
    public static final String RELAY = "relay";

    private StagingPipeline() {}

    /**
     * Adds the dataflow to {@code env}.
     *
     * @param models the models to stage on every slot
     * @param config Warmstage options (source, storage, staging, cache)
     * @param slots number of staging slots, at most {@link #MAX_PARALLELISM}
     * @return tensor, file and model events, and cache events when the cache is on
     */
    public static DataStream<StagingEvent> build(
            StreamExecutionEnvironment env,
            List<ModelSpec> models,
            Configuration config,
            int slots) {
        return build(env, models, config, slots, null, null);
    }

    /**
     * Adds the dataflow to {@code env}; with a refresh interval the job keeps running, reads {@code
     * catalog} again every interval, stages changed models again and releases removed ones (staged
     * files stay resident in device memory meanwhile).
     *
     * @param models the models of the first catalog read (checked before the job starts)
     * @param config Warmstage options, including {@link FleetOptions#FETCH_MODE}
     * @param slots number of staging slots, at most {@link #MAX_PARALLELISM}
     * @param catalog where a refreshing job reads its models, or null
     * @param refresh the refresh interval, or null for a bounded job
     * @return tensor, file, model and release events, and cache events when the cache is on
     */
    public static DataStream<StagingEvent> build(
            StreamExecutionEnvironment env,
            List<ModelSpec> models,
            Configuration config,
            int slots,
            ModelCatalog catalog,
            Duration refresh) {
        config = new Configuration(config);
        if (refresh != null) {
            config.set(StagingOptions.KEEP_RESIDENT, true);
        }
        env.setMaxParallelism(MAX_PARALLELISM);
        Configuration pipeline = new Configuration();
        pipeline.set(PipelineOptions.OBJECT_REUSE, true); // chunk bytes are never copied on chains
        pipeline.set(PipelineOptions.GENERIC_TYPES, false); // records are POJOs: no Kryo
        env.configure(pipeline);
        WeightSourceBuilder builder =
                WeightSource.builder()
                        .models(models)
                        .targets(slots, MAX_PARALLELISM)
                        .config(config);
        if (refresh != null) {
            builder.refresh(catalog != null ? catalog : ModelCatalog.of(models), refresh);
        }
        WeightSource source = builder.build();
        DataStream<ChunkRecord> chunks =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "weights")
                        .setParallelism(slots)
                        .uid("weights");
        // per-target: reader i emits only slot i's records (chained, no shuffle); per-host and
        // fan-out: a record fetched on one slot goes to others through a keyed exchange.
        KeyedStream<ChunkRecord, Integer> byTarget =
                source.fetchMode().needsExchange()
                        ? chunks.keyBy(r -> r.target, Types.INT)
                        : DataStreamUtils.reinterpretAsKeyedStream(
                                chunks, r -> r.target, Types.INT);
        if (source.hostRelay()) {
            // fan-out with the host relay: a record crosses the network once, to its host's lead
            // slot, whose relay (in the same slot as that slot's staging subtask) hands a copy to
            // each of the host's targets through a second exchange that stays on the host.
            byTarget =
                    byTarget.process(new HostRelay(), TypeInformation.of(ChunkRecord.class))
                            .name(RELAY)
                            .uid(RELAY)
                            .setParallelism(slots)
                            .keyBy(r -> r.target, Types.INT);
        }
        boolean cacheOn = config.getOptional(WeightSourceOptions.CACHE_DIR).isPresent();
        SingleOutputStreamOperator<StagingEvent> staged =
                byTarget.process(new StagingFunction(config, cacheOn))
                        .name("stage")
                        .uid("stage")
                        .setParallelism(slots);
        if (!cacheOn) {
            return staged;
        }
        DataStream<CacheOp> ops = staged.getSideOutput(StagingFunction.CACHE_OPS);
        Path dir = Path.of(config.get(WeightSourceOptions.CACHE_DIR));
        DataStream<StagingEvent> cached =
                AsyncDataStream.unorderedWait(
                                ops,
                                new CacheWriter(dir.toString(), 2, config),
                                10,
                                TimeUnit.MINUTES,
                                CACHE_QUEUE)
                        .name("cache")
                        .uid("cache")
                        .setParallelism(slots)
                        .map(StagingPipeline::cacheEvent)
                        .name("cache-events")
                        .setParallelism(slots);
        return staged.union(cached);
    }

    private static StagingEvent cacheEvent(CacheResult r) {
        StagingEvent e = new StagingEvent();
        e.event = StagingEvent.CACHE;
        e.file = r.uri;
        e.status = r.status;
        e.bytes = r.bytes;
        e.reason = r.reason;
        return e;
    }
}
