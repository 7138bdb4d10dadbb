package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.util.HexFormat;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * The checkpointed form of a slot's staging state ({@link StagingProgress} in the union list state
 * {@code staging-progress}) stays readable: the bytes Flink's POJO serializer writes for an entry
 * are pinned (taken from the release whose kind was a plain string constant), and those bytes read
 * back to the entry, its kind and its file.
 */
class StagingProgressFormatTest {
    /** {@link #partial()} as the POJO serializer of the string-constant release wrote it. */
    private static final String PARTIAL_HEX =
            "0200000000000000006400000000031234abcd0000000000000007000365310000000000000000000000"
                    + "001000000d66696c652d7061727469616c00026d000000000300000000040000000000000000"
                    + "0000000000000080000000000000040000000000000008000100000000010000000000000005"
                    + "000000000108742e6f7468657200000000020000000001000000018bcfe56800001866696c65"
                    + "3a2f2f2f772f612e7361666574656e736f7273";

    private final TypeSerializer<StagingProgress> serializer =
            TypeInformation.of(StagingProgress.class).createSerializer(new SerializerConfigImpl());

    @Test
    void anEntryIsWrittenAsEarlierReleasesWroteIt() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(partial(), out);
        assertThat(HexFormat.of().formatHex(out.getCopyOfBuffer())).isEqualTo(PARTIAL_HEX);
    }

    @Test
    void anEarlierReleasesEntryRestoresAsAPartlyStagedFile() throws Exception {
        StagingProgress p =
                serializer.deserialize(
                        new DataInputDeserializer(HexFormat.of().parseHex(PARTIAL_HEX)));
        assertThat(p).usingRecursiveComparison().isEqualTo(partial());
        assertThat(StagingProgress.Kind.of(p.kind)).isEqualTo(StagingProgress.Kind.FILE_PARTIAL);
        assertThat(ProgressCodec.key(p))
                .isEqualTo(
                        new FileKey(
                                "m",
                                new FileId(
                                        "file:///w/a.safetensors", new ObjectVersion(4096, "e1"))));
    }

    @Test
    void eachKindKeepsItsCheckpointedString() {
        assertThat(StagingProgress.Kind.of("file-done")).isEqualTo(StagingProgress.Kind.FILE_DONE);
        assertThat(StagingProgress.Kind.of("file-partial"))
                .isEqualTo(StagingProgress.Kind.FILE_PARTIAL);
        assertThat(StagingProgress.Kind.of("model")).isEqualTo(StagingProgress.Kind.MODEL);
        for (StagingProgress.Kind k : StagingProgress.Kind.values()) {
            assertThat(StagingProgress.Kind.of(k.code())).isEqualTo(k);
        }
        assertThatThrownBy(() -> StagingProgress.Kind.of("file-lost"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("unknown staging state file-lost");
    }

    @Test
    void eachEventKindKeepsItsString() {
        for (StagingEvent.Kind k : StagingEvent.Kind.values()) {
            assertThat(StagingEvent.of(k).event).isEqualTo(k.code());
            assertThat(StagingEvent.of(k).kind()).isEqualTo(k);
        }
        assertThat(StagingEvent.Kind.TENSOR.code()).isEqualTo("tensor");
        assertThat(StagingEvent.Kind.RELEASE.code()).isEqualTo("release");
    }

    private static StagingProgress partial() {
        StagingProgress p = new StagingProgress();
        p.kind = StagingProgress.FILE_PARTIAL;
        p.slot = 2;
        p.model = "m";
        p.uri = "file:///w/a.safetensors";
        p.fileSize = 4096;
        p.etag = "e1";
        p.modelFiles = 3;
        p.ranges = new long[] {0, 128, 1024, 2048};
        p.reported = new long[] {5};
        p.crcs = new int[] {0x1234abcd, 0, 7};
        p.skip = new String[] {"t.other"};
        p.staged = 1;
        p.bytes = 100;
        p.startMillis = 1_700_000_000_000L;
        return p;
    }
}
