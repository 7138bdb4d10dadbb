package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializerTestSupport;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.junit.jupiter.api.Test;

class BufferPoolTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @Test
    void splitsTakeTheirKibAndGiveThemBack() throws Exception {
        BufferPool pool = BufferPool.create(1 << 20);
        BufferPool.Lease a = pool.lease();
        ChunkSplit half = ChunkSplitSerializerTestSupport.split(0, 512 << 10);
        assertThat(a.tryAcquire(half, 0)).isTrue();
        assertThat(a.tryAcquire(half, 0)).isTrue();
        assertThat(pool.freeKib()).isZero();
        assertThat(a.tryAcquire(ChunkSplitSerializerTestSupport.split(0, 1), 0)).isFalse();
        a.release(half);
        assertThat(pool.freeKib()).isEqualTo(512);
        a.releaseAll();
        assertThat(pool.freeKib()).isEqualTo(1024);
    }

    @Test
    void aSplitLargerThanThePoolTakesTheWholePoolAndRunsAlone() throws Exception {
        BufferPool pool = BufferPool.create(64 << 10);
        BufferPool.Lease a = pool.lease();
        ChunkSplit huge = ChunkSplitSerializerTestSupport.split(0, 10L << 30);
        assertThat(a.tryAcquire(huge, 0)).isTrue();
        assertThat(pool.freeKib()).isZero();
        a.release(huge);
        assertThat(pool.freeKib()).isEqualTo(64);
    }

    @Test
    void theReaderWaitsWhileThePoolIsDryAndGoesOnOnceTheEmittedSplitIsGivenBack() throws Exception {
        long size = Files.size(CNN);
        long headerEnd = HeaderParser.read(CNN).dataStart();
        ObjectVersion v = new ObjectVersion(size, null);
        ChunkSplit first = split(v, headerEnd, headerEnd, 64 << 10);
        DataSplit second = split(v, headerEnd, headerEnd + (64 << 10), 64 << 10);
        BufferPool pool = BufferPool.create(64 << 10);
        BufferPool.Lease lease = pool.lease();
        ObjectStores stores = ObjectStores.create(new Configuration());
        ChunkSplitReader reader =
                new ChunkSplitReader(stores, stores.retryPolicy(), null, 16 << 10, 4, lease);
        try {
            reader.handleSplitsChanges(new SplitsAddition<>(List.of(first, second)));

            List<ChunkRecord> one = drain(reader.fetch());
            assertThat(one).hasSize(4);
            assertThat(lease.heldKib()).isEqualTo(64);

            assertThat(drain(reader.fetch())).isEmpty(); // pool dry: second split not started

            lease.release(first);
            List<ChunkRecord> two = drain(reader.fetch());
            assertThat(two).hasSize(4);
            byte[] origin = Files.readAllBytes(CNN);
            int at = (int) second.offset();
            byte[] got = new byte[two.get(0).length()];
            two.get(0).bytes().get(got);
            assertThat(got).isEqualTo(Arrays.copyOfRange(origin, at, at + (16 << 10)));
        } finally {
            reader.close();
        }
    }

    private static DataSplit split(ObjectVersion v, long headerEnd, long offset, long length) {
        return new DataSplit(
                "0:cnn@" + offset,
                "cnn",
                1,
                new FileId(CNN.toUri().toString(), v),
                headerEnd,
                offset,
                length,
                List.of(),
                List.of(Destination.of(0)),
                0);
    }

    private static List<ChunkRecord> drain(RecordsWithSplitIds<ChunkRecord> batch) {
        List<ChunkRecord> out = new ArrayList<>();
        while (batch.nextSplit() != null) {
            ChunkRecord r;
            while ((r = batch.nextRecordFromSplit()) != null) {
                out.add(r);
            }
        }
        return out;
    }
}
