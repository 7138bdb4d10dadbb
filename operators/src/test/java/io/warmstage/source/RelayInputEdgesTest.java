package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.memory.ChunkBuffers;
import io.warmstage.memory.Crc32c;
import io.warmstage.source.split.ChunkSplitSerializer;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Host-relay inputs at their edges: relay target lists, truncated split and record bytes. */
class RelayInputEdgesTest {
    private static final Path FILE =
            SharedData.real().resolve("huggingface_safetensors__samples__overall.safetensors");

    @Test
    void aSplitWithHundredsOfRelayTargetsRoundTrips() throws IOException {
        List<Integer> relay = IntStream.range(100, 600).boxed().toList();
        DataSplit s = split(List.of(new Destination(100, true, false, relay)));
        ChunkSplitSerializer ser = ChunkSplitSerializer.INSTANCE;
        DataSplit back = (DataSplit) ser.deserialize(ser.getVersion(), ser.serialize(s));
        assertThat(back).isEqualTo(s);
        assertThat(back.destinations().get(0).relay()).hasSize(500).first().isEqualTo(100);
    }

    @Test
    void aRelayListingATargetTwiceOrLackingItsOwnTargetIsRefused() {
        assertThatThrownBy(() -> new Destination(4, true, true, List.of(4, 5, 5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("relay target 5")
                .hasMessageContaining("twice");
        assertThatThrownBy(() -> new Destination(4, true, true, List.of(5, 6)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("target 4")
                .hasMessageContaining("not among its relay targets [5, 6]");
    }

    @Test
    void splitBytesWithADuplicateRelayTargetAreRefusedNamingTheSplit() throws IOException {
        DataSplit s = split(List.of(new Destination(4, true, true, List.of(4, 5))));
        byte[] bytes = ChunkSplitSerializer.INSTANCE.serialize(s);
        // the last relay key (5) sits before the model bytes (a long): make it 4, a duplicate
        int at = bytes.length - Long.BYTES - Integer.BYTES;
        assertThat(Arrays.copyOfRange(bytes, at, at + 4)).containsExactly(0, 0, 0, 5);
        bytes[at + 3] = 4;
        assertThatThrownBy(() -> ChunkSplitSerializer.INSTANCE.deserialize(4, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("split " + s.id())
                .hasMessageContaining("relay target 4");
    }

    @Test
    void everyTruncationOfARelaySplitIsAnErrorNamingTheVersionAndLength() throws IOException {
        DataSplit s =
                split(
                        List.of(
                                new Destination(0, true, true, List.of(0, 1)),
                                new Destination(2, true, false, List.of(2, 3, 5))));
        byte[] bytes = ChunkSplitSerializer.INSTANCE.serialize(s);
        for (int n = 0; n < bytes.length; n++) {
            byte[] cut = Arrays.copyOf(bytes, n);
            assertThatThrownBy(() -> ChunkSplitSerializer.INSTANCE.deserialize(4, cut))
                    .as("cut at %d of %d", n, bytes.length)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("version 4")
                    .hasMessageContaining(n + " bytes");
        }
    }

    @Test
    void aRecordCutAfterItsBytesGivesItsPooledBufferBack() throws IOException {
        byte[] origin = Files.readAllBytes(FILE);
        ChunkRecord r = new ChunkRecord();
        r.target = 3;
        r.model = "m";
        r.file = FILE.toUri().toString();
        r.fileSize = origin.length;
        r.relayTargets = new int[] {3, 4, 9};
        r.withBytes(origin);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        ChunkRecordSerializer.INSTANCE.serialize(r, out);
        byte[] whole = out.getCopyOfBuffer();

        ChunkRecord back =
                ChunkRecordSerializer.INSTANCE.deserialize(new DataInputDeserializer(whole));
        assertThat(Crc32c.of(back.bytes())).isEqualTo(Crc32c.of(ByteBuffer.wrap(origin)));
        assertThat(back.relayTargets).containsExactly(3, 4, 9);
        back.releaseReceived();

        ChunkBuffers pool = ChunkBuffers.shared(WeightSourceOptions.DEFAULT_RECORD_BYTES);
        // every cut after the data: inside the flags, the error, the relay targets
        for (int n = whole.length - 1; n > whole.length - 20; n--) {
            int idle = pool.idle();
            long allocated = pool.allocated();
            byte[] cut = Arrays.copyOf(whole, n);
            assertThatThrownBy(
                            () ->
                                    ChunkRecordSerializer.INSTANCE.deserialize(
                                            new DataInputDeserializer(cut)))
                    .as("cut at %d of %d", n, whole.length)
                    .isInstanceOf(IOException.class);
            assertThat(pool.allocated() - pool.idle())
                    .as("buffers out after a cut at %d", n)
                    .isEqualTo(allocated - idle);
        }
    }

    private static DataSplit split(List<Destination> to) {
        return new DataSplit(
                "0:s3://b/k@0",
                "llama",
                1,
                new FileId("s3://b/k", new ObjectVersion(702, "\"e\"")),
                534,
                0,
                702,
                List.of(),
                to,
                702);
    }
}
