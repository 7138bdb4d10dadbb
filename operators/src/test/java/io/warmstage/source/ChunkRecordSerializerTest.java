package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.memory.ChunkBuffers;
import java.nio.ByteBuffer;
import java.util.Random;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class ChunkRecordSerializerTest {

    @Test
    void flinkUsesTheRecordsOwnSerializer() {
        TypeInformation<ChunkRecord> info = TypeInformation.of(ChunkRecord.class);
        assertThat(info).isInstanceOf(io.warmstage.memory.SerializerTypeInfo.class);
        assertThat(info.createSerializer(new SerializerConfigImpl()))
                .isSameAs(ChunkRecordSerializer.INSTANCE);
    }

    @Test
    void aPooledRecordCrossesAnExchangeIntoAPooledBufferWithTheSameBytes() throws Exception {
        byte[] bytes = new byte[300_000]; // several scratch pieces
        new Random(3).nextBytes(bytes);
        ChunkRecord r = record();
        r.buffer = new ChunkBuffers(1 << 20, 0).take();
        r.data = r.buffer.memory().put(bytes).flip().slice();

        ChunkRecord back = roundTrip(r);

        assertThat(back.buffer).isNotNull().isNotSameAs(r.buffer);
        assertThat(back.data.isDirect()).isTrue();
        assertThat(array(back.bytes())).isEqualTo(bytes);
        assertThat(back)
                .usingRecursiveComparison()
                .ignoringFields("data", "buffer", "received")
                .isEqualTo(r);
        assertThat(back.received).as("its consumer gives the buffer back").isTrue();
        back.releaseReceived();
        assertThat(back.buffer.references()).isZero();
        back.releaseReceived(); // once only
        assertThat(back.buffer.references()).isZero();
    }

    @Test
    void failureAndReleaseRecordsRoundTripWithoutBytes() throws Exception {
        ChunkRecord failure = record();
        failure.error = "HTTP 404";
        failure.skipTensors = null;
        ChunkRecord back = roundTrip(failure);
        assertThat(back.data).isNull();
        assertThat(back.error).isEqualTo("HTTP 404");
        assertThat(back.isFailure()).isTrue();

        ChunkRecord release = new ChunkRecord();
        release.model = "m";
        release.release = true;
        ChunkRecord r2 = roundTrip(release);
        assertThat(r2.release).isTrue();
        assertThat(r2.file).isNull();
    }

    @Test
    void aCachedCopysExpectedChecksumsRoundTrip() throws Exception {
        ChunkRecord r = record();
        r.expectedHeaderCrc = 0x89abcdef;
        r.expectedCrcs = new int[] {1, -2, 0x7fffffff};
        ChunkRecord back = roundTrip(r);
        assertThat(back.expectedHeaderCrc).isEqualTo(0x89abcdef);
        assertThat(back.expectedCrcs).containsExactly(1, -2, 0x7fffffff);
        assertThat(back.skipTensors).containsExactly("lm_head.weight");
        assertThat(back.cacheOwner).isTrue();
        assertThat(roundTrip(record()).expectedHeaderCrc).isNull();
        assertThat(ChunkRecordSerializer.INSTANCE.copy(r).expectedCrcs)
                .containsExactly(1, -2, 0x7fffffff)
                .isNotSameAs(r.expectedCrcs);
    }

    @Test
    void copyIsDeepAndHoldsNoPooledMemory() {
        ChunkRecord r = record().withBytes(new byte[] {1, 2, 3});
        ChunkRecord c = ChunkRecordSerializer.INSTANCE.copy(r);
        r.data.array()[0] = 9;
        assertThat(array(c.bytes())).containsExactly(1, 2, 3);
        assertThat(c.buffer).isNull();
        assertThat(c.skipTensors).isEqualTo(r.skipTensors).isNotSameAs(r.skipTensors);
    }

    private static ChunkRecord record() {
        ChunkRecord r = new ChunkRecord();
        r.target = 5;
        r.model = "llama";
        r.modelFiles = 4;
        r.modelBytes = 1L << 34;
        r.file = "s3://b/model-00001.safetensors";
        r.fileSize = 5_000_000_000L;
        r.etag = "\"abc\"";
        r.headerEnd = 4096;
        r.offset = 3_000_000_000L;
        r.cacheHit = true;
        r.cacheOwner = true;
        r.skipTensors = new String[] {"lm_head.weight"};
        return r;
    }

    private static ChunkRecord roundTrip(ChunkRecord r) throws Exception {
        TypeSerializer<ChunkRecord> s = ChunkRecordSerializer.INSTANCE;
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(r, out);
        return s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    private static byte[] array(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
