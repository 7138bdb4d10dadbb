package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.memory.ChunkBuffers;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplitState;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.SourceOutput;
import org.junit.jupiter.api.Test;

/** One record per destination; a host destination's record carries the host's relay targets. */
class ChunkRecordEmitterTest {
    @Test
    void eachHostDestinationGetsOneRecordWithItsRelayTargets() {
        DataSplit split =
                split(
                        List.of(
                                new Destination(0, true, true, List.of(0, 1)),
                                new Destination(2, true, false, List.of(2, 3))));
        List<ChunkRecord> out = emit(split);
        assertThat(out).extracting(r -> r.target).containsExactlyInAnyOrder(0, 2);
        for (ChunkRecord r : out) {
            assertThat(r.relayTargets).containsExactly(r.target, r.target + 1);
            assertThat(r.cacheHit).isEqualTo(r.target == 0); // only the fetching host's copy
            assertThat(r.bytes().remaining()).isEqualTo(100);
        }
    }

    @Test
    void aSingleLocalHostDestinationStillCarriesItsRelayTargets() {
        List<ChunkRecord> out =
                emit(split(List.of(new Destination(4, false, true, List.of(4, 5, 6)))));
        assertThat(out)
                .singleElement()
                .satisfies(r -> assertThat(r.relayTargets).containsExactly(4, 5, 6));
    }

    @Test
    void perSlotDestinationsCarryNoRelayTargets() {
        List<ChunkRecord> out =
                emit(
                        split(
                                List.of(
                                        new Destination(0, false, true),
                                        new Destination(2, false, false))));
        assertThat(out).hasSize(2).allMatch(r -> r.relayTargets == null && !r.needsRelay());
    }

    /** A split planned with the relay, read in a job without it: one record per target. */
    @Test
    void withoutTheRelayEachRelayTargetGetsItsOwnRecord() {
        DataSplit split =
                split(
                        List.of(
                                new Destination(0, true, true, List.of(0, 1)),
                                new Destination(2, false, false, List.of(2, 3))));
        List<ChunkRecord> out = emit(split, new ChunkRecordEmitter(false));
        assertThat(out).extracting(r -> r.target).containsExactlyInAnyOrder(0, 1, 2, 3);
        for (ChunkRecord r : out) {
            assertThat(r.needsRelay()).isFalse();
            assertThat(r.cacheOwner).isEqualTo(r.target < 2);
            assertThat(r.cacheHit).isEqualTo(r.target < 2);
        }
    }

    private static List<ChunkRecord> emit(DataSplit split) {
        return emit(split, new ChunkRecordEmitter());
    }

    private static List<ChunkRecord> emit(DataSplit split, ChunkRecordEmitter emitter) {
        ChunkRecord r = new ChunkRecord();
        r.file = split.uri();
        r.offset = 0;
        r.cacheHit = true;
        r.buffer = new ChunkBuffers(1 << 10, 0).take();
        r.data = r.buffer.memory().put(new byte[100]).flip().slice();
        List<ChunkRecord> out = new ArrayList<>();
        ChunkSplitState state = new ChunkSplitState(split);
        emitter.emitRecord(r, new Collecting(out), state);
        assertThat(state.next()).isEqualTo(100);
        assertThat(r.buffer.references()).as("the reader's reference is given back").isZero();
        return out;
    }

    private static DataSplit split(List<Destination> to) {
        return new DataSplit(
                "s",
                "m",
                1,
                new FileId("file:///m", new ObjectVersion(1_000, null)),
                100,
                0,
                100,
                List.of(),
                to,
                1_000);
    }

    private record Collecting(List<ChunkRecord> out) implements SourceOutput<ChunkRecord> {
        @Override
        public void collect(ChunkRecord record) {
            out.add(record);
        }

        @Override
        public void collect(ChunkRecord record, long timestamp) {
            out.add(record);
        }

        @Override
        public void emitWatermark(Watermark watermark) {}

        @Override
        public void markIdle() {}

        @Override
        public void markActive() {}
    }
}
