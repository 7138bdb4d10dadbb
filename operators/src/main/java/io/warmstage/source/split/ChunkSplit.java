package io.warmstage.source.split;

import java.util.List;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * What the enumerator hands a reader: a byte range of one file ({@link DataSplit}), a file that
 * failed to plan ({@link FailureSplit}), or a model to let go of ({@link ReleaseSplit}).
 *
 * <p>Splits are immutable; the progress of a data split in a reader lives in {@link
 * ChunkSplitState}. Every split goes to one or more {@linkplain #destinations() destinations}, the
 * first of which is its {@link #target()}.
 */
public sealed interface ChunkSplit extends SourceSplit
        permits DataSplit, FailureSplit, ReleaseSplit {
    /** The split's id, unique in the job. */
    String id();

    /** The name of the model the split belongs to. */
    String model();

    /**
     * The staging targets the split's records go to, in order; never empty. One unless the fetch
     * mode is per-host or fan-out.
     */
    List<Destination> destinations();

    @Override
    default String splitId() {
        return id();
    }

    /** The key of the first destination's staging target. */
    default int target() {
        return destinations().get(0).target();
    }
}
