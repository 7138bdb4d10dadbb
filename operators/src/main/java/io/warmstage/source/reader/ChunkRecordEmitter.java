package io.warmstage.source.reader;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitState;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/**
 * Emits a chunk record to each of its split's destinations and advances the split's state past the
 * record's bytes. A split has one destination unless the fetch mode is per-host or fan-out; then
 * the same bytes (one array, never copied here) go to every destination, each with its own target,
 * cache-owner flag and cache-hit flag (a copy read from this host's cache is no hit for a
 * destination on another host).
 *
 * <p>Once every destination has it, the emitter gives back the reader's reference to the record's
 * pooled buffer: a chained consumer has staged the bytes by then (or taken a reference of its own
 * to keep them), and a network exchange has serialized them.
 */
public final class ChunkRecordEmitter
        implements RecordEmitter<ChunkRecord, ChunkRecord, ChunkSplitState> {
    @Override
    public void emitRecord(
            ChunkRecord record, SourceOutput<ChunkRecord> out, ChunkSplitState state) {
        ChunkSplit split = state.split();
        int n = split.destinations();
        for (int i = 1; i < n; i++) {
            out.collect(forDestination(record, split, i));
        }
        // The fetched record itself goes last: with object reuse a chained consumer may keep it.
        try {
            out.collect(
                    n == 1 && split.destinationLocal(0)
                            ? record
                            : forDestination(record, split, 0));
        } finally {
            record.releaseBuffer();
        }
        if (record.isFailure()) {
            state.advanceTo(state.split().end());
        } else {
            state.advanceTo(record.offset + record.length());
        }
    }

    private static ChunkRecord forDestination(ChunkRecord r, ChunkSplit split, int i) {
        ChunkRecord c = r.copy();
        c.target = split.destinationTarget(i);
        c.cacheHit = r.cacheHit && split.destinationLocal(i);
        c.cacheOwner = split.destinationOwner(i);
        return c;
    }
}
