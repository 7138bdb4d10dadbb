package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.memory.ChunkBuffers;
import io.warmstage.memory.Crc32c;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.ChunkRecordSerializer;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The host relay in Flink's keyed operator harness (outputs are copied by their serializer). */
class HostRelayTest {
    private final ChunkBuffers pool = new ChunkBuffers(1 << 20, 0);
    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, ChunkRecord> harness;

    @BeforeEach
    void open() throws Exception {
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new HostRelay()), r -> r.target, Types.INT);
        harness.setup(ChunkRecordSerializer.INSTANCE);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    @Test
    void aRecordWithRelayTargetsGoesOutOncePerTargetWithTheOriginsBytes() throws Exception {
        byte[] origin = randomBytes(300_000, 1);
        ChunkRecord r = received(origin);
        r.target = 7;
        r.relayTargets = new int[] {7, 8, 13};
        r.cacheOwner = true;
        r.cacheHit = true;
        r.expectedHeaderCrc = 42;
        r.expectedCrcs = new int[] {1, 2};

        harness.processElement(r, 0);

        List<ChunkRecord> out = harness.extractOutputValues();
        assertThat(out).extracting(c -> c.target).containsExactly(7, 8, 13);
        for (ChunkRecord c : out) {
            assertThat(c.relayTargets).as("relayed once only").isNull();
            assertThat(c.needsRelay()).isFalse();
            assertThat(Crc32c.of(c.bytes())).isEqualTo(Crc32c.of(ByteBuffer.wrap(origin)));
            assertThat(array(c.bytes())).isEqualTo(origin);
            assertThat(c)
                    .usingRecursiveComparison()
                    .ignoringFields("target", "relayTargets", "data", "buffer", "received")
                    .isEqualTo(r);
        }
        assertThat(r.buffer.references()).as("the received buffer is given back").isZero();
        assertThat(r.received).isFalse();
    }

    @Test
    void aRecordWithoutRelayTargetsPassesThroughUnchanged() throws Exception {
        byte[] origin = randomBytes(5_000, 2);
        ChunkRecord r = received(origin);
        r.target = 9;
        ChunkRecord failure = new ChunkRecord();
        failure.target = 9;
        failure.file = "file:///bad";
        failure.error = "broken";
        failure.relayTargets = new int[0];

        harness.processElement(r, 0);
        harness.processElement(failure, 0);

        List<ChunkRecord> out = harness.extractOutputValues();
        assertThat(out).hasSize(2);
        assertThat(array(out.get(0).bytes())).isEqualTo(origin);
        assertThat(out.get(0))
                .usingRecursiveComparison()
                .ignoringFields("data", "buffer", "received")
                .isEqualTo(r);
        assertThat(r.buffer.references()).isZero();
        assertThat(out.get(1).error).isEqualTo("broken");
        assertThat(out.get(1).target).isEqualTo(9);
        assertThat(out.get(1).data).isNull();
    }

    @Test
    void aBufferNotTakenByAnExchangeIsLeftToItsHolder() throws Exception {
        byte[] origin = randomBytes(1_000, 3);
        ChunkRecord r = received(origin);
        r.received = false; // e.g. the reader's own record: the reader releases it
        r.relayTargets = new int[] {1, 2};

        harness.processElement(r, 0);

        assertThat(harness.extractOutputValues()).hasSize(2);
        assertThat(r.buffer.references()).isEqualTo(1);
        r.releaseBuffer();
    }

    /** A record as a network exchange's deserializer hands it over: pooled, one reference. */
    private ChunkRecord received(byte[] bytes) {
        ChunkRecord r = new ChunkRecord();
        r.model = "m";
        r.modelFiles = 1;
        r.file = "file:///m.safetensors";
        r.fileSize = 1L << 20;
        r.headerEnd = 1_000;
        r.offset = 4_096;
        r.buffer = pool.take();
        r.data = r.buffer.memory().put(bytes).flip().slice();
        r.received = true;
        return r;
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] array(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
