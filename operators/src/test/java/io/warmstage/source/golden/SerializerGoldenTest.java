package io.warmstage.source.golden;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.storage.ObjectVersion;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bytes each serializer version wrote, as checkpoints and savepoints hold them: every golden
 * file must still deserialize into the value it was written from.
 */
class SerializerGoldenTest {
    private static final ChunkSplitSerializer SPLITS = ChunkSplitSerializer.INSTANCE;

    @Test
    void v2DataSplit() throws IOException {
        ChunkSplit s = SPLITS.deserialize(2, golden("data-split-v2.bin"));
        assertThat(s.splitId()).isEqualTo("3:llama#2:s3://b/llama/model-00001.safetensors@0");
        assertThat(s.model()).isEqualTo("llama");
        assertThat(s.modelFiles()).isEqualTo(2);
        assertThat(s.uri()).isEqualTo("s3://b/llama/model-00001.safetensors");
        assertThat(s.version()).isEqualTo(new ObjectVersion(6_000_000_000L, "\"etag-1\""));
        assertThat(s.headerEnd()).isEqualTo(1_032);
        assertThat(s.offset()).isEqualTo(5_000_000_000L);
        assertThat(s.length()).isEqualTo(16 << 20);
        assertThat(s.skipTensors()).containsExactly("lm_head.weight", "model.norm.weight");
        assertThat(s.modelBytes()).isEqualTo(12_000_000_000L);
        assertThat(s.destinations()).isEqualTo(3);
        assertThat(List.of(s.destinationTarget(0), s.destinationTarget(1), s.destinationTarget(2)))
                .containsExactly(3, 9, 12);
        assertThat(List.of(s.destinationOwner(0), s.destinationOwner(1), s.destinationOwner(2)))
                .containsExactly(true, false, true);
        assertThat(List.of(s.destinationLocal(0), s.destinationLocal(1), s.destinationLocal(2)))
                .containsExactly(true, true, false);
        assertThat(s.isFailure()).isFalse();
        assertThat(s.isRelease()).isFalse();
        assertThat(s).isEqualTo(GoldenValues.dataSplit());
        assertThat(SPLITS.serialize(s)).isEqualTo(golden("data-split-v2.bin"));
    }

    @Test
    void v2PlainSplit() throws IOException {
        ChunkSplit s = SPLITS.deserialize(2, golden("plain-split-v2.bin"));
        assertThat(s.splitId()).isEqualTo("0:m:file:///x@1032");
        assertThat(s.target()).isZero();
        assertThat(s.version()).isEqualTo(new ObjectVersion(4_096, null));
        assertThat(s.offset()).isEqualTo(1_032);
        assertThat(s.length()).isEqualTo(3_064);
        assertThat(s.cacheOwner()).isFalse();
        assertThat(s.destinations()).isEqualTo(1);
        assertThat(s.destinationLocal(0)).isTrue();
        assertThat(s.skipTensors()).isEmpty();
        assertThat(s.modelBytes()).isZero();
        assertThat(s).isEqualTo(GoldenValues.plainSplit());
        assertThat(SPLITS.serialize(s)).isEqualTo(golden("plain-split-v2.bin"));
    }

    @Test
    void v2FailureSplit() throws IOException {
        ChunkSplit s = SPLITS.deserialize(2, golden("failure-split-v2.bin"));
        assertThat(s.splitId()).isEqualTo("0:bad:file:///models/bad.safetensors@failed");
        assertThat(s.target()).isZero();
        assertThat(s.model()).isEqualTo("bad");
        assertThat(s.modelFiles()).isEqualTo(1);
        assertThat(s.uri()).isEqualTo("file:///models/bad.safetensors");
        assertThat(s.isFailure()).isTrue();
        assertThat(s.error()).isEqualTo("bad header: data offsets overlap at tensor w");
        assertThat(s.length()).isZero();
        assertThat(s).isEqualTo(GoldenValues.failureSplit());
        assertThat(SPLITS.serialize(s)).isEqualTo(golden("failure-split-v2.bin"));
    }

    @Test
    void v2ReleaseSplit() throws IOException {
        ChunkSplit s = SPLITS.deserialize(2, golden("release-split-v2.bin"));
        assertThat(s.isRelease()).isTrue();
        assertThat(s.splitId()).isEqualTo("7:gone#1:release");
        assertThat(s.target()).isEqualTo(7);
        assertThat(s.model()).isEqualTo("gone");
        assertThat(s).isEqualTo(GoldenValues.releaseSplit());
        assertThat(SPLITS.serialize(s)).isEqualTo(golden("release-split-v2.bin"));
    }

    @Test
    void v2EnumeratorState() throws IOException {
        WeightEnumeratorStateSerializer ser = new WeightEnumeratorStateSerializer();
        WeightEnumeratorState s = ser.deserialize(2, golden("enumerator-state-v2.bin"));
        assertThat(s.staged()).containsOnlyKeys("llama", "bad");
        assertThat(s.staged().get("llama").fingerprint())
                .isEqualTo(
                        "s3://b/llama/model-00001.safetensors 6000000000 \"etag-1\"\n"
                                + "placement every slot\nversion null");
        assertThat(s.staged().get("llama").slots()).containsExactly(0, 3);
        assertThat(s.staged().get("llama").generation()).isEqualTo(2);
        assertThat(s.staged().get("bad").fingerprint()).isNull();
        assertThat(s.staged().get("bad").slots()).containsExactly(1);
        assertThat(s.staged().get("bad").generation()).isZero();
        assertThat(s.unassigned()).containsOnlyKeys(0, 3);
        assertThat(s.unassigned().get(3))
                .containsExactly(GoldenValues.dataSplit(), GoldenValues.releaseSplit());
        assertThat(s.unassigned().get(0))
                .containsExactly(GoldenValues.plainSplit(), GoldenValues.failureSplit());
        // Entries were written in the order of an unordered map: the same bytes in another order.
        byte[] again = ser.serialize(s);
        assertThat(again).hasSameSizeAs(golden("enumerator-state-v2.bin"));
        assertThat(ser.deserialize(2, again)).isEqualTo(s);
    }

    static byte[] golden(String name) throws IOException {
        try (InputStream in = SerializerGoldenTest.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IOException("no golden file " + name);
            }
            return in.readAllBytes();
        }
    }
}
