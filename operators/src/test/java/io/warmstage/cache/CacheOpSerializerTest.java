package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.ObjectVersion;
import java.net.URI;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Cache ops cross an exchange (and an async operator's state) with every field. */
class CacheOpSerializerTest {
    private static final URI URI_A = URI.create("https://h.example/a.safetensors");
    private static final ObjectVersion V = new ObjectVersion(1234, "\"e\"");

    @Test
    void aCommitKeepsStagingsChecksums() throws Exception {
        CacheOp op = CacheOp.commit(3, URI_A, V, 0xfedcba98, new int[] {5, -6});
        CacheOp back = roundTrip(op);
        assertThat(back.kind).isEqualTo(CacheOp.Kind.COMMIT);
        assertThat(back.target).isEqualTo(3);
        assertThat(back.version()).isEqualTo(V);
        assertThat(back.headerCrc32c).isEqualTo(0xfedcba98);
        assertThat(back.tensorCrc32c).containsExactly(5, -6);
        assertThat(back.crc32c).isNull();
    }

    @Test
    void aWriteAndAnAbortRoundTrip() throws Exception {
        CacheOp w = roundTrip(CacheOp.write(1, URI_A, V, 100, new byte[] {1, 2, 3}));
        assertThat(w.offset).isEqualTo(100);
        assertThat(w.data).containsExactly(1, 2, 3);
        assertThat(w.headerCrc32c).isNull();
        assertThat(w.tensorCrc32c).isNull();
        CacheOp a = roundTrip(CacheOp.abort(1, URI_A, V, "why"));
        assertThat(a.reason).isEqualTo("why");
        assertThat(a.uri).isEqualTo(URI_A.toString());
    }

    private static CacheOp roundTrip(CacheOp op) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        CacheOpSerializer.INSTANCE.serialize(op, out);
        return CacheOpSerializer.INSTANCE.deserialize(
                new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
