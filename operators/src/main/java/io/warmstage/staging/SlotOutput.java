package io.warmstage.staging;

import io.warmstage.cache.CacheOp;
import java.util.function.Consumer;
import org.apache.flink.streaming.api.TimerService;

/**
 * Where a staging slot's work goes while it handles one record or timer.
 *
 * @param events takes events downstream
 * @param cacheOps takes cache operations to {@link StagingFunction#CACHE_OPS}
 * @param timers the slot's processing-time timers
 */
record SlotOutput(Consumer<StagingEvent> events, Consumer<CacheOp> cacheOps, TimerService timers) {
    /** Sends an event downstream. */
    void emit(StagingEvent e) {
        events.accept(e);
    }

    /** Sends a cache operation to the side output. */
    void cache(CacheOp op) {
        cacheOps.accept(op);
    }
}
