package io.warmstage.staging;

import io.warmstage.source.ChunkRecord;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Host-level fan-out's second hop: a stateless keyed function, one subtask per slot beside the
 * slot's staging subtask, keyed by {@link ChunkRecord#target}. A record that carries relay targets
 * ({@link ChunkRecord#needsRelay()}) came once over the network to its host's lead slot; the relay
 * emits one copy per relay target (that target set, no relay targets, the same bytes and flags),
 * which a second keyed exchange delivers to the staging subtasks of the same host over local
 * channels. Any other record (per-target failures and releases, or fan-out without the relay) goes
 * on unchanged.
 *
 * <p>Every output goes into a keyed exchange, which serializes it during {@code collect}: once all
 * are out, the relay gives back the pooled buffer that the input exchange's deserializer filled
 * ({@link ChunkRecord#releaseReceived()}).
 */
public final class HostRelay extends KeyedProcessFunction<Integer, ChunkRecord, ChunkRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(ChunkRecord r, Context ctx, Collector<ChunkRecord> out) {
        try {
            if (!r.needsRelay()) {
                out.collect(r);
                return;
            }
            for (int target : r.relayTargets) {
                ChunkRecord c = r.copy();
                c.target = target;
                c.relayTargets = null;
                out.collect(c);
            }
        } finally {
            r.releaseReceived();
        }
    }
}
