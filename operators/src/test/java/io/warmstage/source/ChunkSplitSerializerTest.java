package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.source.split.ChunkSplitState;
import io.warmstage.storage.ObjectVersion;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChunkSplitSerializerTest {
    private static final ObjectVersion V = new ObjectVersion(6_000_000_000L, "\"etag-1\"");

    static ChunkSplit split(long offset, long length, boolean owner) {
        return new ChunkSplit(
                "7:s3://b/k@" + offset,
                7,
                "llama",
                4,
                "s3://b/k",
                V,
                1_032,
                offset,
                length,
                owner,
                null);
    }

    @Test
    void roundTripsEveryField() throws IOException {
        ChunkSplitSerializer ser = ChunkSplitSerializer.INSTANCE;
        ChunkSplit s = split(5_000_000_000L, 16 << 20, true);
        ChunkSplit back = ser.deserialize(ser.getVersion(), ser.serialize(s));
        assertThat(back).isEqualTo(s);
        assertThat(back.offset()).isEqualTo(5_000_000_000L);
        assertThat(back.version()).isEqualTo(V);
        assertThat(back.cacheOwner()).isTrue();
    }

    @Test
    void roundTripsTheTensorsToSkip() throws IOException {
        ChunkSplit s =
                new ChunkSplit(
                        "0:u@0",
                        0,
                        "m",
                        2,
                        "file:///u",
                        V,
                        100,
                        0,
                        100,
                        false,
                        null,
                        List.of("w", "model.layers.0.mlp.up_proj.weight"));
        ChunkSplit back =
                ChunkSplitSerializer.INSTANCE.deserialize(
                        ChunkSplitSerializer.INSTANCE.getVersion(),
                        ChunkSplitSerializer.INSTANCE.serialize(s));
        assertThat(back.skipTensors()).containsExactly("w", "model.layers.0.mlp.up_proj.weight");
        assertThat(back).isEqualTo(s);
    }

    @Test
    void roundTripsFailureSplitsAndNullEtags() throws IOException {
        ChunkSplitSerializer ser = ChunkSplitSerializer.INSTANCE;
        ChunkSplit f = ChunkSplit.failure("0:x@failed", 0, "m", 1, "file:///x", "bad header");
        ChunkSplit back = ser.deserialize(ser.getVersion(), ser.serialize(f));
        assertThat(back).isEqualTo(f);
        assertThat(back.error()).isEqualTo("bad header");
        assertThat(back.version().etag()).isNull();
    }

    @Test
    void rejectsUnknownVersion() {
        assertThatThrownBy(() -> ChunkSplitSerializer.INSTANCE.deserialize(99, new byte[0]))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("99");
    }

    @Test
    void splitStateResumesFromTheNextUnemittedByte() {
        ChunkSplitState state = new ChunkSplitState(split(1_032, 1000, false));
        state.advanceTo(1_532);
        ChunkSplit rest = state.toSplit();
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
        ChunkSplit fan =
                split(0, 1_032, false)
                        .withDestinations(
                                new int[] {3, 9, 12},
                                new boolean[] {true, false, true},
                                new boolean[] {true, true, false});
        ChunkSplit release = ChunkSplit.release("r", 7, "llama");
        for (ChunkSplit s : List.of(fan, release, fan.withRange(10, 5))) {
            ChunkSplit back =
                    ChunkSplitSerializer.INSTANCE.deserialize(
                            ChunkSplitSerializer.INSTANCE.getVersion(),
                            ChunkSplitSerializer.INSTANCE.serialize(s));
            assertThat(back).isEqualTo(s);
            assertThat(back.destinations()).isEqualTo(s.destinations());
            assertThat(back.isRelease()).isEqualTo(s.isRelease());
        }
        assertThat(fan.withRange(10, 5).destinationTarget(2)).isEqualTo(12);
        assertThat(fan.withRange(10, 5).destinationLocal(2)).isFalse();
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
