package io.warmstage.cache;

import static io.warmstage.cache.CacheFixtures.crc32c;
import static io.warmstage.cache.CacheFixtures.list;
import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.ObjectVersion;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheWriterTest {
    @TempDir Path dir;
    private CacheWriter writer;
    private Path origin;
    private byte[] bytes;
    private URI uri;
    private ObjectVersion version;

    @BeforeEach
    void setUp() throws Exception {
        writer = new CacheWriter(dir.toString(), 2);
        writer.open(DefaultOpenContext.INSTANCE);
        origin = CacheFixtures.largestRealFile();
        bytes = Files.readAllBytes(origin);
        uri = origin.toUri();
        version = new ObjectVersion(bytes.length, "\"v1\"");
    }

    @AfterEach
    void tearDown() throws Exception {
        writer.close();
    }

    @Test
    void shuffledWritesThenCommitPublishTheFile() throws Exception {
        List<CompletingResultFuture<CacheResult>> writes = writeAll(4 << 20 >> 6);

        CacheResult result = single(CacheOp.commit(0, uri, version, crc32c(bytes)));

        for (CompletingResultFuture<CacheResult> w : writes) {
            assertThat(w.get()).isEmpty();
        }
        Path data = new LocalCache(dir).lookup(uri, version).orElseThrow();
        assertThat(result)
                .isEqualTo(CacheResult.published(uri.toString(), data.toString(), bytes.length));
        assertThat(Files.mismatch(data, origin)).isEqualTo(-1);
    }

    @Test
    void aFailedWritePoisonsTheFileAndItsCommitReportsFailed() throws Exception {
        writeAll(16 << 10);
        CompletingResultFuture<CacheResult> bad =
                invoke(CacheOp.write(0, uri, version, bytes.length, new byte[1]));

        CacheResult result = single(CacheOp.commit(0, uri, version, null));

        assertThat(bad.get()).isEmpty();
        assertThat(result.status).isEqualTo(CacheResult.FAILED);
        assertThat(result.reason)
                .contains("cache entry for " + uri + " not published")
                .contains("outside");
        assertThat(result.path).isNull();
        assertNothingPublished();
    }

    @Test
    void aWrongExpectedChecksumReportsFailed() throws Exception {
        writeAll(16 << 10);

        CacheResult result = single(CacheOp.commit(0, uri, version, crc32c(bytes) ^ 1));

        assertThat(result.status).isEqualTo(CacheResult.FAILED);
        assertThat(result.reason).contains(uri.toString()).contains("CRC-32C");
        assertNothingPublished();
    }

    @Test
    void aCommitWithoutWritesOfANonEmptyFileReportsFailed() throws Exception {
        CacheResult result = single(CacheOp.commit(0, uri, version, null));

        assertThat(result.status).isEqualTo(CacheResult.FAILED);
        assertThat(result.reason).contains("[0, " + bytes.length + ") of " + bytes.length);
        assertNothingPublished();
    }

    @Test
    void abortAfterWritesLeavesNothing() throws Exception {
        writeAll(16 << 10);

        CacheResult result = single(CacheOp.abort(0, uri, version, "staging failed"));

        assertThat(result).isEqualTo(CacheResult.aborted(uri.toString(), "staging failed"));
        assertNothingPublished();
    }

    @Test
    void closeDropsFilesNeverCommitted() throws Exception {
        for (CompletingResultFuture<CacheResult> w : writeAll(16 << 10)) {
            w.get();
        }
        assertThat(list(dir.resolve(".tmp"))).hasSize(1);

        writer.close();

        assertNothingPublished();
    }

    @Test
    void opsRoundTripThroughTheirSerializerAndResultsAreFlinkPojos() throws Exception {
        CacheOp op = CacheOp.write(3, uri, version, 17, new byte[] {1, 2, 3});
        CacheOp back = roundTrip(CacheOp.class, op, io.warmstage.memory.SerializerTypeInfo.class);
        assertThat(back).usingRecursiveComparison().isEqualTo(op);

        io.warmstage.source.ChunkRecord record = new io.warmstage.source.ChunkRecord();
        io.warmstage.memory.ChunkBuffers pool = new io.warmstage.memory.ChunkBuffers(16, 64);
        record.buffer = pool.take();
        record.data = record.buffer.memory().put(new byte[] {4, 5, 6, 7}).flip().slice();
        CacheOp shared = CacheOp.write(1, uri, version, 40, record.bytes(), record.buffer);
        assertThat(record.buffer.references()).isEqualTo(2);
        CacheOp restored =
                roundTrip(CacheOp.class, shared, io.warmstage.memory.SerializerTypeInfo.class);
        assertThat(restored.data).containsExactly(4, 5, 6, 7);
        assertThat(restored.offset).isEqualTo(40);
        assertThat(restored.lease).isNull();
        shared.releaseBuffer();
        shared.releaseBuffer(); // idempotent
        assertThat(record.buffer.references()).isEqualTo(1);

        CacheResult r = CacheResult.failed("s3://b/k", "disk full");
        assertThat(roundTrip(CacheResult.class, r, PojoTypeInfo.class)).isEqualTo(r);
    }

    private List<CompletingResultFuture<CacheResult>> writeAll(int maxChunk) throws Exception {
        List<CompletingResultFuture<CacheResult>> futures = new ArrayList<>();
        for (long[] r : CacheFixtures.shuffledRanges(bytes.length, maxChunk, 7)) {
            byte[] chunk = Arrays.copyOfRange(bytes, (int) r[0], (int) r[1]);
            futures.add(invoke(CacheOp.write(0, uri, version, r[0], chunk)));
        }
        return futures;
    }

    private CompletingResultFuture<CacheResult> invoke(CacheOp op) throws Exception {
        CompletingResultFuture<CacheResult> f = new CompletingResultFuture<>();
        writer.asyncInvoke(op, f);
        return f;
    }

    private CacheResult single(CacheOp op) throws Exception {
        List<CacheResult> results = invoke(op).get();
        assertThat(results).hasSize(1);
        return results.get(0);
    }

    private void assertNothingPublished() {
        assertThat(list(dir)).containsExactly(".tmp");
        assertThat(list(dir.resolve(".tmp"))).isEmpty();
    }

    @SuppressWarnings("rawtypes")
    private static <T> T roundTrip(Class<T> type, T value, Class<? extends TypeInformation> kind)
            throws Exception {
        TypeInformation<T> info = TypeInformation.of(type);
        assertThat(info).isInstanceOf(kind);
        TypeSerializer<T> serializer = info.createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(value, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
