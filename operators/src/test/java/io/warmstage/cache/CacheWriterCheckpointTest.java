package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.format.TensorInfo;
import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.operators.async.AsyncWaitOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache writer behind Flink's asynchronous operator, across a checkpoint and a restore: the
 * operator checkpoints every op still in its queue, written or not, and a restored writer replays
 * them. A WRITE whose bytes went back to their pool once written must not be checkpointed with
 * whatever the pool's next user put into that memory.
 */
class CacheWriterCheckpointTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @TempDir Path dir;

    @Test
    void aWriteCheckpointedAfterItsBufferWentBackIsNotReplayedWithTheBuffersNextBytes()
            throws Exception {
        byte[] bytes = Files.readAllBytes(CNN);
        URI uri = CNN.toUri();
        ObjectVersion version = ObjectStores.create(new Configuration()).forUri(uri).stat(uri);
        ChunkBuffers pool = new ChunkBuffers(bytes.length, 1L << 30);

        // As staging does: the chunk's buffer is shared with the WRITE, which takes a reference;
        // the record's own reference goes once its processElement returns.
        ChunkBuffer chunk = pool.take();
        ByteBuffer data = chunk.memory().put(bytes).flip().slice();
        CacheOp write = CacheOp.write(0, uri, version, 0, data, chunk);
        chunk.release();

        OperatorSubtaskState snapshot;
        try (var h = harness()) {
            h.setup();
            h.open();
            h.processElement(new StreamRecord<>(write));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (chunk.references() > 0 && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
            assertThat(chunk.references()).as("written, its buffer given back").isZero();

            // The pool's next user (the next record read from storage or from the network) fills
            // the same memory before the writer's completion is processed by the task.
            ChunkBuffer next = pool.take();
            byte[] other = new byte[bytes.length];
            Arrays.fill(other, (byte) 0x5a);
            next.memory().put(other);

            snapshot = h.snapshot(1, 1);
        }

        // After a failover the restored writer replays the checkpointed ops, then the commit with
        // the checksums staging computed from the bytes it staged.
        try (var h = harness()) {
            h.setup();
            h.initializeState(snapshot);
            h.open();
            h.processElement(
                    new StreamRecord<>(
                            CacheOp.commit(0, uri, version, headerCrc(bytes), tensorCrcs(bytes))));
            h.endInput();
        }

        Path published = new LocalCache(dir).lookup(uri, version).orElseThrow();
        assertThat(Files.mismatch(published, CNN))
                .as("the published copy equals the origin")
                .isEqualTo(-1L);
    }

    private OneInputStreamOperatorTestHarness<CacheOp, CacheResult> harness() throws Exception {
        var h =
                new OneInputStreamOperatorTestHarness<>(
                        new AsyncWaitOperatorFactory<>(
                                new CacheWriter(dir.toString(), 2),
                                60_000,
                                10,
                                AsyncDataStream.OutputMode.UNORDERED),
                        CacheOpSerializer.INSTANCE);
        h.getExecutionConfig().enableObjectReuse(); // as the job runs
        return h;
    }

    private static long headerEnd(byte[] bytes) {
        return 8 + ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static int headerCrc(byte[] bytes) {
        return crc(bytes, 0, headerEnd(bytes));
    }

    private static int[] tensorCrcs(byte[] bytes) throws Exception {
        long h = headerEnd(bytes);
        List<TensorInfo> tensors = HeaderParser.read(CNN).tensors();
        int[] out = new int[tensors.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = crc(bytes, h + tensors.get(i).begin(), h + tensors.get(i).end());
        }
        return out;
    }

    private static int crc(byte[] bytes, long from, long to) {
        CRC32C c = new CRC32C();
        c.update(bytes, (int) from, (int) (to - from));
        return (int) c.getValue();
    }
}
