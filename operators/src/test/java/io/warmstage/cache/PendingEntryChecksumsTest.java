package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.format.TensorInfo;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checksums a published entry records: the header's and every tensor's CRC-32C, either taken
 * from the writer's caller (computed where the bytes were staged, no read-back) or computed in the
 * publish pass; the whole file's CRC-32C equals the file's in both cases.
 */
class PendingEntryChecksumsTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
    private static final URI URI_A = URI.create("https://h.example/cnn.safetensors");

    @TempDir Path dir;

    @Test
    void readBackRecordsTheHeadersAndEachTensorsCrc32c() throws Exception {
        byte[] bytes = Files.readAllBytes(CNN);
        CacheEntry e = publish(bytes, null, null);
        assertThat(e.crc32c()).isEqualTo(crc(bytes, 0, bytes.length));
        assertThat(e.headerCrc32c()).isEqualTo(crc(bytes, 0, headerEnd(bytes)));
        assertThat(e.tensorCrc32c()).isEqualTo(tensorCrcs(bytes));
    }

    @Test
    void stagedChecksumsArePublishedAndCombinedIntoTheWholeFiles() throws Exception {
        byte[] bytes = Files.readAllBytes(CNN);
        List<Long> tensors = tensorCrcs(bytes);
        int[] staged = tensors.stream().mapToInt(Long::intValue).toArray();
        int header = (int) crc(bytes, 0, headerEnd(bytes));

        CacheEntry e = publish(bytes, header, staged);

        assertThat(e.crc32c()).isEqualTo(crc(bytes, 0, bytes.length));
        assertThat(e.headerCrc32c()).isEqualTo(Integer.toUnsignedLong(header));
        assertThat(e.tensorCrc32c()).isEqualTo(tensors);
    }

    @Test
    void stagedChecksumsThatDoNotFitTheHeaderAreIgnored() throws Exception {
        byte[] bytes = Files.readAllBytes(CNN);
        CacheEntry e = publish(bytes, 1, new int[] {1, 2}); // not one per tensor
        assertThat(e.crc32c()).isEqualTo(crc(bytes, 0, bytes.length));
        assertThat(e.tensorCrc32c()).isEqualTo(tensorCrcs(bytes));
    }

    @Test
    void aFileThatIsNotSafetensorsRecordsNoTensorChecksums() throws Exception {
        byte[] bytes = new byte[1000];
        CacheEntry e = publish(bytes, null, null);
        assertThat(e.crc32c()).isEqualTo(crc(bytes, 0, bytes.length));
        assertThat(e.checkableWhileStaged()).isFalse();
    }

    private CacheEntry publish(byte[] bytes, Integer header, int[] tensors) throws Exception {
        LocalCache cache = new LocalCache(dir);
        PendingEntry p = cache.begin(URI_A, new ObjectVersion(bytes.length, "\"v1\""));
        p.write(0, ByteBuffer.wrap(bytes));
        return header == null
                ? p.commit(OptionalInt.empty())
                : p.commit(OptionalInt.empty(), header, tensors);
    }

    private static long headerEnd(byte[] bytes) {
        return 8 + ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static List<Long> tensorCrcs(byte[] bytes) throws Exception {
        long h = headerEnd(bytes);
        List<Long> out = new ArrayList<>();
        for (TensorInfo t : HeaderParser.read(CNN).tensors()) {
            out.add(crc(bytes, h + t.begin(), h + t.end()));
        }
        return out;
    }

    private static long crc(byte[] bytes, long from, long to) {
        CRC32C c = new CRC32C();
        c.update(bytes, (int) from, (int) (to - from));
        return c.getValue();
    }
}
