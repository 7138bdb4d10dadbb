package io.warmstage.source.reader;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplitState;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/** Emits a chunk record and advances its split's state past the record's bytes. */
public final class ChunkRecordEmitter
        implements RecordEmitter<ChunkRecord, ChunkRecord, ChunkSplitState> {
    @Override
    public void emitRecord(
            ChunkRecord record, SourceOutput<ChunkRecord> out, ChunkSplitState state) {
        out.collect(record);
        if (record.isFailure()) {
            state.advanceTo(state.split().end());
        } else {
            state.advanceTo(record.offset + record.length());
        }
    }
}
