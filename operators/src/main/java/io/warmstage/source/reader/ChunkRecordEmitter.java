package io.warmstage.source.reader;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplitState;
import io.warmstage.source.split.Destination;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/**
 * Emits a chunk record to each of its split's destinations and advances the split's state past the
 * record's bytes. A split has one destination unless the fetch mode is per-host or fan-out; then
 * the same bytes (one array, never copied here) go to every destination, each with its own target,
 * cache-owner flag and cache-hit flag (a copy read from this host's cache is no hit for a
 * destination on another host). In host-level fan-out a destination is a host's lead slot and the
 * record sent there carries the host's targets ({@link ChunkRecord#relayTargets}) for the host's
 * relay to hand it on. A job without the relay (a split planned with it, restored into a job run
 * with {@code warmstage.fleet.host-relay: false}) gets one record per relay target instead, as in
 * per-slot fan-out.
 *
 * <p>Once every destination has it, the emitter gives back the reader's reference to the record's
 * pooled buffer: a chained consumer has staged the bytes by then (or taken a reference of its own
 * to keep them), and a network exchange has serialized them.
 */
public final class ChunkRecordEmitter
        implements RecordEmitter<ChunkRecord, ChunkRecord, ChunkSplitState> {
    private final boolean relays;

    /** An emitter for a job with the host relay. */
    public ChunkRecordEmitter() {
        this(true);
    }

    /**
     * @param relays whether the job has the host relay (fan-out with {@code
     *     warmstage.fleet.host-relay}); without it a destination's relay targets each get a record
     */
    public ChunkRecordEmitter(boolean relays) {
        this.relays = relays;
    }

    @Override
    public void emitRecord(
            ChunkRecord record, SourceOutput<ChunkRecord> out, ChunkSplitState state) {
        List<Destination> to =
                relays ? state.split().destinations() : perTarget(state.split().destinations());
        for (int i = 1; i < to.size(); i++) {
            out.collect(forDestination(record, to.get(i)));
        }
        // The fetched record itself goes last: with object reuse a chained consumer may keep it.
        try {
            out.collect(
                    to.size() == 1 && to.get(0).local() && !to.get(0).relays()
                            ? record
                            : forDestination(record, to.get(0)));
        } finally {
            record.releaseBuffer();
        }
        if (record.isFailure()) {
            state.advanceTo(state.end());
        } else {
            state.advanceTo(record.offset + record.length());
        }
    }

    /** Each relaying destination replaced by one destination per relay target, in order. */
    private static List<Destination> perTarget(List<Destination> to) {
        if (to.stream().noneMatch(Destination::relays)) {
            return to;
        }
        List<Destination> out = new ArrayList<>();
        for (Destination d : to) {
            if (!d.relays()) {
                out.add(d);
                continue;
            }
            d.relay().forEach(t -> out.add(new Destination(t, d.cacheOwner(), d.local())));
        }
        return out;
    }

    private static ChunkRecord forDestination(ChunkRecord r, Destination to) {
        ChunkRecord c = r.copy();
        c.target = to.target();
        c.cacheHit = r.cacheHit && to.local();
        c.cacheOwner = to.cacheOwner();
        c.relayTargets =
                to.relays() ? to.relay().stream().mapToInt(Integer::intValue).toArray() : null;
        return c;
    }
}
