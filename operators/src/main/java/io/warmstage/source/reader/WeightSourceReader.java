package io.warmstage.source.reader;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.fleet.ReaderHostEvent;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitState;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;

/**
 * The source reader: asks for as many splits as it reads at once, and for one more each time a
 * split is done, so the enumerator hands out work as readers have room for it.
 */
public final class WeightSourceReader
        extends SingleThreadMultiplexSourceReaderBase<
                ChunkRecord, ChunkRecord, ChunkSplit, ChunkSplitState> {
    private final int readsInFlight;
    private final BufferPool.Lease buffers;
    private final String host;

    /**
     * @param splitReader makes the split reader (it takes pool bytes from {@code buffers})
     * @param host this reader's host ({@link io.warmstage.host.HostIdentity})
     * @param buffers the share of the buffer pool the split reader takes from; bytes go back here
     *     once a split's records have been emitted
     */
    public WeightSourceReader(
            Supplier<SplitReader<ChunkRecord, ChunkSplit>> splitReader,
            int readsInFlight,
            BufferPool.Lease buffers,
            String host,
            Configuration config,
            SourceReaderContext context) {
        super(splitReader, new ChunkRecordEmitter(relays(config)), config, context);
        this.readsInFlight = readsInFlight;
        this.buffers = buffers;
        this.host = host;
    }

    @Override
    public void start() {
        // The enumerator cuts no split before every reader has said where it runs.
        context.sendSourceEventToCoordinator(new ReaderHostEvent(host));
        if (getNumberOfCurrentlyAssignedSplits() == 0) {
            for (int i = 0; i < readsInFlight; i++) {
                context.sendSplitRequest();
            }
        }
    }

    @Override
    protected void onSplitFinished(Map<String, ChunkSplitState> finished) {
        for (ChunkSplitState state : finished.values()) {
            buffers.release(state.split());
            context.sendSplitRequest();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            buffers.releaseAll();
        }
    }

    @Override
    protected ChunkSplitState initializedState(ChunkSplit split) {
        return new ChunkSplitState(split);
    }

    @Override
    protected ChunkSplit toSplitType(String splitId, ChunkSplitState state) {
        return state.toSplit();
    }

    /** Whether the job has the host relay: fan-out with {@link FleetOptions#HOST_RELAY} on. */
    private static boolean relays(Configuration config) {
        return FetchMode.parse(config.get(FleetOptions.FETCH_MODE)) == FetchMode.FAN_OUT
                && config.get(FleetOptions.HOST_RELAY);
    }
}
