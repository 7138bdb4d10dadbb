package io.warmstage.source.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.ChunkRecordSerializer;
import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.enumerator.WeightEnumeratorState.StagedModel;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bytes each serializer version wrote, as checkpoints and savepoints hold them: every golden
 * file must still deserialize into the value it was written from, and the current version must
 * serialize that value back to the same bytes.
 */
class SerializerGoldenTest {
    private static final ChunkSplitSerializer SPLITS = ChunkSplitSerializer.INSTANCE;
    private static final WeightEnumeratorStateSerializer STATE =
            new WeightEnumeratorStateSerializer();

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void dataSplit(int version) throws IOException {
        DataSplit s = (DataSplit) split("data-split", version);
        assertThat(s.id()).isEqualTo("3:llama#2:s3://b/llama/model-00001.safetensors@0");
        assertThat(s.model()).isEqualTo("llama");
        assertThat(s.modelFiles()).isEqualTo(2);
        assertThat(s.file())
                .isEqualTo(
                        new FileId(
                                "s3://b/llama/model-00001.safetensors",
                                new ObjectVersion(6_000_000_000L, "\"etag-1\"")));
        assertThat(s.headerEnd()).isEqualTo(1_032);
        assertThat(s.offset()).isEqualTo(5_000_000_000L);
        assertThat(s.length()).isEqualTo(16 << 20);
        assertThat(s.skipTensors()).containsExactly("lm_head.weight", "model.norm.weight");
        assertThat(s.destinations())
                .containsExactly(
                        new Destination(3, true, true),
                        new Destination(9, false, true),
                        new Destination(12, true, false));
        assertThat(s.target()).isEqualTo(3);
        assertThat(s.modelBytes()).isEqualTo(12_000_000_000L);
        assertThat(s).isEqualTo(GoldenValues.dataSplit());
        assertCurrentBytes("data-split", version, s);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void plainSplit(int version) throws IOException {
        DataSplit s = (DataSplit) split("plain-split", version);
        assertThat(s.id()).isEqualTo("0:m:file:///x@1032");
        assertThat(s.model()).isEqualTo("m");
        assertThat(s.modelFiles()).isEqualTo(1);
        assertThat(s.file()).isEqualTo(new FileId("file:///x", new ObjectVersion(4_096, null)));
        assertThat(s.headerEnd()).isEqualTo(1_032);
        assertThat(s.offset()).isEqualTo(1_032);
        assertThat(s.length()).isEqualTo(3_064);
        assertThat(s.skipTensors()).isEmpty();
        assertThat(s.destinations()).containsExactly(new Destination(0, false, true));
        assertThat(s.modelBytes()).isZero();
        assertThat(s).isEqualTo(GoldenValues.plainSplit());
        assertCurrentBytes("plain-split", version, s);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void failureSplit(int version) throws IOException {
        FailureSplit s = (FailureSplit) split("failure-split", version);
        assertThat(s.id()).isEqualTo("0:bad:file:///models/bad.safetensors@failed");
        assertThat(s.model()).isEqualTo("bad");
        assertThat(s.modelFiles()).isEqualTo(1);
        assertThat(s.uri()).isEqualTo("file:///models/bad.safetensors");
        assertThat(s.error()).isEqualTo("bad header: data offsets overlap at tensor w");
        assertThat(s.target()).isZero();
        assertThat(s.modelBytes()).isZero();
        assertThat(s.destinations()).containsExactly(new Destination(0, false, true));
        assertThat(s).isEqualTo(GoldenValues.failureSplit());
        assertCurrentBytes("failure-split", version, s);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void releaseSplit(int version) throws IOException {
        ReleaseSplit s = (ReleaseSplit) split("release-split", version);
        assertThat(s.id()).isEqualTo("7:gone#1:release");
        assertThat(s.model()).isEqualTo("gone");
        assertThat(s.target()).isEqualTo(7);
        assertThat(s).isEqualTo(GoldenValues.releaseSplit());
        assertCurrentBytes("release-split", version, s);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void enumeratorState(int version) throws IOException {
        byte[] bytes = golden("enumerator-state-v" + version + ".bin");
        WeightEnumeratorState s = STATE.deserialize(version, bytes);
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
        assertThat(s).isEqualTo(GoldenValues.state());
        if (version == STATE.getVersion()) {
            assertThat(STATE.serialize(s)).isEqualTo(bytes);
        }
    }

    /** Version 4: host-level fan-out destinations, each with the host's targets to relay to. */
    @Test
    void relaySplit() throws IOException {
        DataSplit s = (DataSplit) split("relay-split", 4);
        assertThat(s.destinations())
                .containsExactly(
                        new Destination(0, true, true, List.of(0, 1)),
                        new Destination(2, true, false, List.of(2, 3, 5)),
                        new Destination(4, true, false, List.of(4)));
        assertThat(s.target()).isEqualTo(0);
        assertThat(s.offset()).isEqualTo(1_032);
        assertThat(s.length()).isEqualTo(4 << 20);
        assertThat(s).isEqualTo(GoldenValues.relaySplit());
        assertCurrentBytes("relay-split", 4, s);
    }

    /**
     * A chunk record in format 2, written by the serializer before relay targets (commit 8e8342d),
     * and that serializer's snapshot (version 3 of {@code SimpleTypeSerializerSnapshot}): the
     * snapshot restores the format 2 serializer, which reads the record with every field; the
     * current snapshot answers "compatible after migration" and writes it again in format 3.
     */
    @Test
    void chunkRecordFormat2AndItsSnapshotStillRead() throws IOException {
        TypeSerializerSnapshot<ChunkRecord> old =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(golden("chunk-record-snapshot-v3.bin")),
                        getClass().getClassLoader());
        assertThat(old.restoreSerializer()).isSameAs(ChunkRecordSerializer.WITHOUT_RELAY);
        assertThat(
                        ChunkRecordSerializer.INSTANCE
                                .snapshotConfiguration()
                                .resolveSchemaCompatibility(old)
                                .isCompatibleAfterMigration())
                .isTrue();
        ChunkRecord r =
                old.restoreSerializer()
                        .deserialize(new DataInputDeserializer(golden("chunk-record-format2.bin")));
        assertRecord(r, GoldenValues.chunkRecord(null));
        DataOutputSerializer again = new DataOutputSerializer(64);
        ChunkRecordSerializer.INSTANCE.serialize(r, again);
        ChunkRecord current =
                ChunkRecordSerializer.INSTANCE.deserialize(
                        new DataInputDeserializer(again.getCopyOfBuffer()));
        assertRecord(current, GoldenValues.chunkRecord(null));
    }

    /** Format 3 (relay targets) reads back and the current serializer writes the same bytes. */
    @Test
    void chunkRecordFormat3() throws IOException {
        byte[] bytes = golden("chunk-record-format3.bin");
        ChunkRecord expected = GoldenValues.chunkRecord(new int[] {5, 6, 9});
        ChunkRecord r =
                ChunkRecordSerializer.INSTANCE.deserialize(new DataInputDeserializer(bytes));
        assertRecord(r, expected);
        DataOutputSerializer out = new DataOutputSerializer(64);
        ChunkRecordSerializer.INSTANCE.serialize(expected, out);
        assertThat(out.getCopyOfBuffer()).isEqualTo(bytes);
        DataOutputSerializer snap = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(
                snap, ChunkRecordSerializer.INSTANCE.snapshotConfiguration());
        TypeSerializerSnapshot<ChunkRecord> back =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        new DataInputDeserializer(snap.getCopyOfBuffer()),
                        getClass().getClassLoader());
        assertThat(back.restoreSerializer()).isSameAs(ChunkRecordSerializer.INSTANCE);
        assertThat(
                        ChunkRecordSerializer.INSTANCE
                                .snapshotConfiguration()
                                .resolveSchemaCompatibility(back)
                                .isCompatibleAsIs())
                .isTrue();
    }

    private static void assertRecord(ChunkRecord r, ChunkRecord expected) {
        byte[] bytes = new byte[r.length()];
        r.bytes().get(bytes);
        assertThat(bytes).containsExactly(1, 2, 3, 4, 5);
        assertThat(r)
                .usingRecursiveComparison()
                .ignoringFields("data", "buffer", "received")
                .isEqualTo(expected);
        r.releaseReceived();
    }

    /**
     * Version 1 files, written by the version 1 serializers themselves: {@code v1} by the last
     * layout (commit 30cf6b7, with skipped tensors), {@code v1-before-skip} by the first (297cbe3).
     */
    @ParameterizedTest
    @ValueSource(strings = {"v1", "v1-before-skip"})
    void dataSplitV1(String file) throws IOException {
        boolean withSkip = file.equals("v1");
        DataSplit s = (DataSplit) SPLITS.deserialize(1, golden("data-split-" + file + ".bin"));
        assertThat(s.id()).isEqualTo("3:llama:s3://b/llama/model-00001.safetensors@5000000000");
        assertThat(s.model()).isEqualTo("llama");
        assertThat(s.modelFiles()).isEqualTo(2);
        assertThat(s.file())
                .isEqualTo(
                        new FileId(
                                "s3://b/llama/model-00001.safetensors",
                                new ObjectVersion(6_000_000_000L, "\"etag-1\"")));
        assertThat(s.headerEnd()).isEqualTo(1_032);
        assertThat(s.offset()).isEqualTo(5_000_000_000L);
        assertThat(s.length()).isEqualTo(16 << 20);
        if (withSkip) {
            assertThat(s.skipTensors()).containsExactly("lm_head.weight", "model.norm.weight");
        } else {
            assertThat(s.skipTensors()).isEmpty();
        }
        assertThat(s.destinations()).containsExactly(new Destination(3, true, true));
        assertThat(s.target()).isEqualTo(3);
        assertThat(s.modelBytes()).isZero();
        assertThat(s).isEqualTo(GoldenValues.v1DataSplit(withSkip));
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v1-before-skip"})
    void plainSplitV1(String file) throws IOException {
        DataSplit s = (DataSplit) SPLITS.deserialize(1, golden("plain-split-" + file + ".bin"));
        assertThat(s.id()).isEqualTo("0:m:file:///x@1032");
        assertThat(s.model()).isEqualTo("m");
        assertThat(s.modelFiles()).isEqualTo(1);
        assertThat(s.file()).isEqualTo(new FileId("file:///x", new ObjectVersion(4_096, null)));
        assertThat(s.headerEnd()).isEqualTo(1_032);
        assertThat(s.offset()).isEqualTo(1_032);
        assertThat(s.length()).isEqualTo(3_064);
        assertThat(s.skipTensors()).isEmpty();
        assertThat(s.destinations()).containsExactly(new Destination(0, false, true));
        assertThat(s.modelBytes()).isZero();
        assertThat(s).isEqualTo(GoldenValues.plainSplit());
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v1-before-skip"})
    void failureSplitV1(String file) throws IOException {
        FailureSplit s =
                (FailureSplit) SPLITS.deserialize(1, golden("failure-split-" + file + ".bin"));
        assertThat(s.id()).isEqualTo("0:bad:file:///models/bad.safetensors@failed");
        assertThat(s.model()).isEqualTo("bad");
        assertThat(s.modelFiles()).isEqualTo(1);
        assertThat(s.uri()).isEqualTo("file:///models/bad.safetensors");
        assertThat(s.error()).isEqualTo("bad header: data offsets overlap at tensor w");
        assertThat(s.target()).isZero();
        assertThat(s.modelBytes()).isZero();
        assertThat(s.destinations()).containsExactly(new Destination(0, false, true));
        assertThat(s).isEqualTo(GoldenValues.failureSplit());
    }

    /** Version 1 state (commit 30cf6b7): planned model names, then splits in the last layout. */
    @Test
    void enumeratorStateV1() throws IOException {
        WeightEnumeratorState s = STATE.deserialize(1, golden("enumerator-state-v1.bin"));
        assertThat(s.staged())
                .containsOnly(
                        entry("llama", new StagedModel(null, List.of(), 0)),
                        entry("bad", new StagedModel(null, List.of(), 0)));
        assertThat(s.unassigned()).containsOnlyKeys(0, 3);
        assertThat(s.unassigned().get(3)).containsExactly(GoldenValues.v1DataSplit(true));
        assertThat(s.unassigned().get(0))
                .containsExactly(GoldenValues.plainSplit(), GoldenValues.failureSplit());
    }

    private static ChunkSplit split(String name, int version) throws IOException {
        return SPLITS.deserialize(version, golden(name + "-v" + version + ".bin"));
    }

    /** The current version writes exactly its golden bytes; older files are only read. */
    private static void assertCurrentBytes(String name, int version, ChunkSplit s)
            throws IOException {
        if (version == SPLITS.getVersion()) {
            assertThat(SPLITS.serialize(s)).isEqualTo(golden(name + "-v" + version + ".bin"));
        }
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
