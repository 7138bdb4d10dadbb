package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.source.split.ChunkSplitState;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChunkSplitSerializerTest {
    private static final ObjectVersion V = new ObjectVersion(6_000_000_000L, "\"etag-1\"");

    static DataSplit split(long offset, long length, boolean owner) {
        return new DataSplit(
                "7:s3://b/k@" + offset,
                "llama",
                4,
                new FileId("s3://b/k", V),
                1_032,
                offset,
                length,
                List.of(),
                List.of(new Destination(7, owner, true)),
                0);
    }

    private static ChunkSplit roundTrip(ChunkSplit s) throws IOException {
        ChunkSplitSerializer ser = ChunkSplitSerializer.INSTANCE;
        return ser.deserialize(ser.getVersion(), ser.serialize(s));
    }

    @Test
    void roundTripsEveryField() throws IOException {
        DataSplit s = split(5_000_000_000L, 16 << 20, true);
        DataSplit back = (DataSplit) roundTrip(s);
        assertThat(back).isEqualTo(s);
        assertThat(back.offset()).isEqualTo(5_000_000_000L);
        assertThat(back.version()).isEqualTo(V);
        assertThat(back.destinations().get(0).cacheOwner()).isTrue();
    }

    @Test
    void roundTripsTheTensorsToSkip() throws IOException {
        DataSplit s =
                new DataSplit(
                        "0:u@0",
                        "m",
                        2,
                        new FileId("file:///u", V),
                        100,
                        0,
                        100,
                        List.of("w", "model.layers.0.mlp.up_proj.weight"),
                        List.of(Destination.of(0)),
                        0);
        DataSplit back = (DataSplit) roundTrip(s);
        assertThat(back.skipTensors()).containsExactly("w", "model.layers.0.mlp.up_proj.weight");
        assertThat(back).isEqualTo(s);
    }

    @Test
    void roundTripsFailureSplitsAndNullEtags() throws IOException {
        FailureSplit f = new FailureSplit("0:x@failed", "m", 1, "file:///x", "bad header", 0, 9);
        assertThat(roundTrip(f)).isEqualTo(f);
        DataSplit noEtag =
                new DataSplit(
                        "0:y@0",
                        "m",
                        1,
                        new FileId("file:///y", new ObjectVersion(10, null)),
                        10,
                        0,
                        10,
                        List.of(),
                        List.of(Destination.of(0)),
                        0);
        assertThat(((DataSplit) roundTrip(noEtag)).version().etag()).isNull();
    }

    @Test
    void rejectsUnknownVersion() {
        assertThatThrownBy(() -> ChunkSplitSerializer.INSTANCE.deserialize(99, new byte[0]))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("99");
        assertThatThrownBy(() -> new WeightEnumeratorStateSerializer().deserialize(99, new byte[0]))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 99");
    }

    @Test
    void splitStateResumesFromTheNextUnemittedByte() {
        ChunkSplitState state = new ChunkSplitState(split(1_032, 1000, false));
        state.advanceTo(1_532);
        DataSplit rest = (DataSplit) state.toSplit();
        assertThat(rest.offset()).isEqualTo(1_532);
        assertThat(rest.end()).isEqualTo(2_032);
        assertThat(rest.splitId()).isEqualTo("7:s3://b/k@1032");
        assertThatThrownBy(() -> state.advanceTo(3_000)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void splitOutsideTheObjectIsRefused() {
        assertThatThrownBy(() -> split(V.size() - 10, 11, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside s3://b/k");
    }

    @Test
    void fanOutAndReleaseSplitsRoundTrip() throws IOException {
        DataSplit fan =
                split(0, 1_032, false)
                        .withDestinations(
                                List.of(
                                        new Destination(3, true, true),
                                        new Destination(9, false, true),
                                        new Destination(12, true, false)));
        ReleaseSplit release = new ReleaseSplit("r", "llama", 7);
        for (ChunkSplit s : List.of(fan, release, fan.withRange(10, 5))) {
            ChunkSplit back = roundTrip(s);
            assertThat(back).isEqualTo(s);
            assertThat(back.destinations()).isEqualTo(s.destinations());
        }
        assertThat(fan.withRange(10, 5).destinations().get(2))
                .isEqualTo(new Destination(12, true, false));
    }

    @Test
    void enumeratorStateRoundTrips() throws IOException {
        WeightEnumeratorStateSerializer ser = new WeightEnumeratorStateSerializer();
        WeightEnumeratorState state =
                new WeightEnumeratorState(
                        Map.of(
                                "llama",
                                new WeightEnumeratorState.StagedModel("f 1\n", List.of(0, 3), 2),
                                "bad",
                                new WeightEnumeratorState.StagedModel(null, List.of(1), 0)),
                        Map.of(
                                0,
                                List.of(split(0, 1_032, false), split(1_032, 99, true)),
                                3,
                                List.of()));
        WeightEnumeratorState back = ser.deserialize(ser.getVersion(), ser.serialize(state));
        assertThat(back).isEqualTo(state);
    }
}
