package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.Dtype;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.FileServer.Seen;
import io.warmstage.source.enumerator.SplitPlanner;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.storage.LocalFileStore;
import io.warmstage.storage.ObjectStore;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RangeReads;
import io.warmstage.storage.RetryPolicy;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file over 4 GiB, sparse on disk: one BF16 tensor of 5 GiB. Every offset and size is 64-bit from
 * the header through the planner, the splits and ranged reads (file:// and http://); no test reads
 * the whole file.
 */
class FilesOver4GiBTest {
    private static final long DATA_SIZE = 5L << 30;
    private static final long ELEMENTS = DATA_SIZE / 2;
    private static final long PATTERN_AT = 5_000_000_000L;
    private static final int PATTERN_SIZE = 1024;
    private static final long SPLIT_SIZE = 1_000_000_000L;
    private static final String NAME = "big.safetensors";

    @TempDir static Path dir;
    private static Path file;
    private static long headerLength;
    private static long fileSize;
    private static byte[] pattern;

    @BeforeAll
    static void writeSparseFile() throws Exception {
        file = dir.resolve(NAME);
        byte[] header = paddedHeader();
        headerLength = header.length;
        fileSize = 8 + headerLength + DATA_SIZE;
        pattern = new byte[PATTERN_SIZE];
        new Random(5).nextBytes(pattern);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(
                    ByteBuffer.allocate(8)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putLong(headerLength)
                            .array());
            f.write(header);
            f.setLength(fileSize);
            f.seek(PATTERN_AT);
            f.write(pattern);
        }
        assertThat(Files.size(file)).isEqualTo(fileSize).isGreaterThan(1L << 32);
    }

    @Test
    void headerParserReadsTheFiveGiBTensor() throws Exception {
        SafetensorsHeader h = HeaderParser.read(file);

        assertThat(h.headerLength()).isEqualTo(headerLength);
        assertThat(h.dataSize()).isEqualTo(DATA_SIZE);
        assertThat(h.fileSize()).isEqualTo(fileSize);
        TensorInfo w = h.tensor("w");
        assertThat(w)
                .isEqualTo(new TensorInfo("w", Dtype.BF16, new long[] {ELEMENTS}, 0, DATA_SIZE));
        assertThat(w.elementCount()).isEqualTo(2_684_354_560L);
        assertThat(w.byteSize()).isEqualTo(5_368_709_120L);
    }

    @Test
    void plannerOverFileGivesTheFullSizeAndSplitsTileItAbove4GiB() throws Exception {
        FilePlan plan;
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            plan = planOne(stores, file.toUri());
        }

        assertThat(plan.error()).isNull();
        assertThat(plan.version().size()).isEqualTo(fileSize);
        assertThat(plan.header().dataSize()).isEqualTo(DATA_SIZE);
        assertSplitsTile(new SplitPlanner(SPLIT_SIZE).splits(plan, 0));
    }

    @Test
    void localRangeAtFiveBillionIsTheWrittenPattern() throws Exception {
        ObjectStore store = new LocalFileStore();
        URI uri = file.toUri();
        ObjectVersion v = store.stat(uri);

        assertThat(v.size()).isEqualTo(fileSize);
        assertThat(readRange(store, uri, v, PATTERN_AT)).isEqualTo(pattern);
        assertThat(readRange(store, uri, v, fileSize - PATTERN_SIZE)).containsOnly(0);
    }

    @Test
    void overHttpThePlanAndARangeAtFiveBillionUse64BitNumbers() throws Exception {
        try (FileServer server = new FileServer(dir);
                ObjectStores stores = ObjectStores.create(new Configuration())) {
            URI uri = server.uri(NAME);
            FilePlan plan = planOne(stores, uri);

            assertThat(plan.error()).isNull();
            assertThat(plan.version().size()).isEqualTo(fileSize);
            assertThat(plan.header().dataSize()).isEqualTo(DATA_SIZE);
            assertSplitsTile(new SplitPlanner(SPLIT_SIZE).splits(plan, 0));

            byte[] got = readRange(stores.forUri(uri), uri, plan.version(), PATTERN_AT);

            assertThat(got).isEqualTo(pattern);
            assertThat(server.gets())
                    .extracting(Seen::range)
                    .containsExactly("bytes=0-65535", "bytes=5000000000-5000001023");
        }
    }

    /** Header split [0, 8 + N), then 1e9-byte data splits, the last one shorter. */
    private static void assertSplitsTile(List<ChunkSplit> cut) {
        List<DataSplit> splits = cut.stream().map(DataSplit.class::cast).toList();
        long dataStart = 8 + headerLength;
        assertThat(splits)
                .extracting(DataSplit::offset)
                .containsExactly(
                        0L,
                        dataStart,
                        dataStart + 1_000_000_000L,
                        dataStart + 2_000_000_000L,
                        dataStart + 3_000_000_000L,
                        dataStart + 4_000_000_000L,
                        dataStart + 5_000_000_000L);
        long expected = 0;
        for (DataSplit s : splits) {
            assertThat(s.offset()).isEqualTo(expected);
            assertThat(s.headerEnd()).isEqualTo(dataStart);
            expected = s.end();
        }
        assertThat(expected).isEqualTo(fileSize);
        assertThat(splits.get(6).offset()).isGreaterThan(1L << 32);
        assertThat(splits.get(6).length()).isEqualTo(DATA_SIZE - 5_000_000_000L);
    }

    private static FilePlan planOne(ObjectStores stores, URI uri) throws Exception {
        ModelPlanner planner = new ModelPlanner(stores, RetryPolicy.none(), null, 65536);
        List<FilePlan> plans = planner.plan(new ModelSpec("big", uri.toString()));
        assertThat(plans).hasSize(1);
        return plans.get(0);
    }

    private static byte[] readRange(ObjectStore store, URI uri, ObjectVersion v, long offset)
            throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(PATTERN_SIZE);
        RangeReads.readFully(store, uri, v, offset, PATTERN_SIZE, buf, RetryPolicy.none());
        assertThat(buf.position()).isEqualTo(PATTERN_SIZE);
        return buf.array();
    }

    /** {"w": BF16 [2684354560], data_offsets [0, 5 GiB)}, space-padded to a multiple of 8. */
    private static byte[] paddedHeader() {
        String json =
                "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"BF16\",\"shape\":["
                        + ELEMENTS
                        + "],\"data_offsets\":[0,"
                        + DATA_SIZE
                        + "]}}";
        int padded = (json.length() + 7) / 8 * 8;
        return (json + " ".repeat(padded - json.length())).getBytes(StandardCharsets.UTF_8);
    }
}
