package io.warmstage.job;

import io.warmstage.cache.CacheOp;
import io.warmstage.cache.CacheResult;
import io.warmstage.cache.CacheWriter;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.ModelSpec;
import io.warmstage.source.WeightSource;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingFunction;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
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
 * The Warmstage dataflow: weight source, per-target staging (chained, no shuffle), and the
 * asynchronous cache writer on the staging side output. The caller chooses the sink of the returned
 * events, so tests and the embedded runner collect them and a cluster job writes them.
 */
public final class StagingPipeline {
    /** Max parallelism (key groups) of every Warmstage job; the source's key math uses it. */
    public static final int MAX_PARALLELISM = 128;

    /**
     * Cache operations in flight per slot: chunk bytes waiting for the cache writer take at most
     * this many records (x record size) of host memory beyond the source's buffer pool.
     */
    static final int CACHE_QUEUE = 16;

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
        env.setMaxParallelism(MAX_PARALLELISM);
        Configuration pipeline = new Configuration();
        pipeline.set(PipelineOptions.OBJECT_REUSE, true); // chunk bytes are never copied on chains
        pipeline.set(PipelineOptions.GENERIC_TYPES, false); // records are POJOs: no Kryo
        env.configure(pipeline);
        WeightSource source =
                WeightSource.builder()
                        .models(models)
                        .targets(slots, MAX_PARALLELISM)
                        .config(config)
                        .build();
        DataStream<ChunkRecord> chunks =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "weights")
                        .setParallelism(slots)
                        .uid("weights");
        KeyedStream<ChunkRecord, Integer> byTarget =
                DataStreamUtils.reinterpretAsKeyedStream(chunks, r -> r.target, Types.INT);
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
                                new CacheWriter(dir.toString(), 2),
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
