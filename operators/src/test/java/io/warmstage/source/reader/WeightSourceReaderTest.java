package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.fleet.ReaderHostEvent;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.testutils.source.reader.TestingReaderContext;
import org.apache.flink.connector.testutils.source.reader.TestingReaderOutput;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.Test;

/** The source reader over a real local file, driven through Flink's testing reader context. */
class WeightSourceReaderTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
    private static final int RECORD = 16 << 10;

    @Test
    void emitsEachSplitsBytesToEveryDestinationAndAsksForMoreWork() throws Exception {
        byte[] origin = Files.readAllBytes(CNN);
        long headerEnd = HeaderParser.read(CNN).dataStart();
        DataSplit header = split("0:cnn@0", 0, headerEnd, List.of(new Destination(5, true, true)));
        DataSplit data =
                split(
                        "0:cnn@" + headerEnd,
                        headerEnd,
                        100_000,
                        List.of(new Destination(5, true, true), new Destination(9, false, false)));
        TestingReaderContext context = new TestingReaderContext();
        CopyingOutput output = new CopyingOutput();
        try (WeightSourceReader reader = reader(context)) {
            reader.start();
            assertThat(context.getSentEvents()).containsExactly(new ReaderHostEvent("host-a"));
            assertThat(context.getNumSplitRequests()).isEqualTo(2);

            reader.addSplits(List.of(header, data));
            pollUntil(
                    reader,
                    output,
                    () -> output.bytes(9) >= data.length() && output.bytes(5) >= data.end());
            assertThat(output.bytes(5)).isEqualTo(headerEnd + data.length());

            assertThat(output.content(5, header)).isEqualTo(range(origin, header));
            assertThat(output.content(5, data)).isEqualTo(range(origin, data));
            assertThat(output.content(9, data)).isEqualTo(range(origin, data));
            assertThat(output.records)
                    .allSatisfy(r -> assertThat(r.file).isEqualTo(CNN.toUri().toString()));
            assertThat(output.records.stream().filter(r -> r.target == 9))
                    .allMatch(r -> !r.cacheOwner && !r.cacheHit);
            assertThat(output.records.stream().filter(r -> r.target == 5))
                    .allMatch(r -> r.cacheOwner);
            // one more request per finished split
            pollUntil(reader, output, () -> context.getNumSplitRequests() >= 4);
            assertThat(context.getNumSplitRequests()).isEqualTo(4);
        }
    }

    @Test
    void failureAndReleaseSplitsEmitOneRecordEach() throws Exception {
        TestingReaderContext context = new TestingReaderContext();
        CopyingOutput output = new CopyingOutput();
        try (WeightSourceReader reader = reader(context)) {
            reader.start();
            reader.addSplits(
                    List.<ChunkSplit>of(
                            new FailureSplit("3:m@failed", "m", 2, "file:///m", "broken", 3, 77),
                            new ReleaseSplit("4:old#1:release", "old", 4)));
            pollUntil(reader, output, () -> output.records.size() >= 2);
            ChunkRecord failure =
                    output.records.stream().filter(r -> r.target == 3).findFirst().get();
            assertThat(failure.error).isEqualTo("broken");
            assertThat(failure.file).isEqualTo("file:///m");
            assertThat(failure.modelFiles).isEqualTo(2);
            assertThat(failure.modelBytes).isEqualTo(77);
            ChunkRecord release =
                    output.records.stream().filter(r -> r.target == 4).findFirst().get();
            assertThat(release.release).isTrue();
            assertThat(release.model).isEqualTo("old");
            assertThat(release.file).isNull();
        }
    }

    private static WeightSourceReader reader(TestingReaderContext context) {
        BufferPool.Lease lease = BufferPool.create(8 << 20).lease();
        return new WeightSourceReader(
                () -> {
                    ObjectStores stores = ObjectStores.create(new Configuration());
                    return new ChunkSplitReader(
                            stores, stores.retryPolicy(), null, RECORD, 2, lease);
                },
                2,
                lease,
                "host-a",
                new Configuration(),
                context);
    }

    private static DataSplit split(String id, long offset, long length, List<Destination> to)
            throws Exception {
        FileId file = new FileId(CNN.toUri().toString(), new ObjectVersion(Files.size(CNN), null));
        long headerEnd = HeaderParser.read(CNN).dataStart();
        return new DataSplit(id, "cnn", 1, file, headerEnd, offset, length, List.of(), to, 0);
    }

    private static byte[] range(byte[] origin, DataSplit s) {
        return Arrays.copyOfRange(origin, (int) s.offset(), (int) s.end());
    }

    /** Polls the reader until {@code done} holds, waiting for data with a deadline. */
    private static void pollUntil(
            WeightSourceReader reader,
            CopyingOutput output,
            java.util.function.BooleanSupplier done)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("records within 30 s").isLessThan(deadline);
            if (reader.pollNext(output) == InputStatus.NOTHING_AVAILABLE) {
                try {
                    reader.isAvailable().get(100, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // nothing yet: poll again until the deadline
                }
            }
        }
    }

    /**
     * Keeps a copy of each record and its bytes as it is emitted: the reader gives a record's
     * pooled buffer back right after emitting it.
     */
    private static final class CopyingOutput extends TestingReaderOutput<ChunkRecord> {
        final List<ChunkRecord> records = new ArrayList<>();
        final List<byte[]> data = new ArrayList<>();

        @Override
        public void collect(ChunkRecord r) {
            byte[] b = new byte[r.isFailure() || r.release ? 0 : r.length()];
            if (b.length > 0) {
                r.bytes().duplicate().get(b);
            }
            records.add(r.copy());
            data.add(b);
        }

        long bytes(int target) {
            long n = 0;
            for (int i = 0; i < records.size(); i++) {
                n += records.get(i).target == target ? data.get(i).length : 0;
            }
            return n;
        }

        /** The bytes {@code target} got for split {@code s}'s range, in offset order. */
        byte[] content(int target, DataSplit s) {
            List<Integer> of = new ArrayList<>();
            for (int i = 0; i < records.size(); i++) {
                ChunkRecord r = records.get(i);
                if (r.target == target && r.offset >= s.offset() && r.offset < s.end()) {
                    of.add(i);
                }
            }
            of.sort(Comparator.comparingLong(i -> records.get(i).offset));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            of.forEach(i -> out.writeBytes(data.get(i)));
            return out.toByteArray();
        }
    }
}
