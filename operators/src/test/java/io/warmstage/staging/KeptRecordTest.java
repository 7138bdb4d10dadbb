package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a slot cut short records beside a kept staging file lists only bytes known to be the
 * origin's: a reader of the host later serves them as the origin's.
 */
class KeptRecordTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path dir;

    @Test
    void bytesOfACachedCopyNotYetCheckedAreNotRecorded() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        long headerEnd = h.dataStart();
        TensorInfo first = h.tensors().get(0);
        // The cached copy's first tensor is corrupt; its entry holds the origin's checksums.
        byte[] copy = origin.clone();
        copy[(int) (headerEnd + first.begin() + 1)] ^= 1;
        int[] expected = new int[h.tensors().size()];
        for (int i = 0; i < expected.length; i++) {
            TensorInfo t = h.tensors().get(i);
            expected[i] = crc(origin, headerEnd + t.begin(), headerEnd + t.end());
        }
        try (HostDevice device = new HostDevice(dir)) {
            long half = headerEnd + first.begin() + first.byteSize() / 2; // cut short mid-tensor
            ChunkRecord r = new ChunkRecord();
            r.file = "http://origin/peft.safetensors";
            r.fileSize = origin.length;
            r.etag = "v1";
            r.model = "peft";
            r.headerEnd = headerEnd;
            r.offset = 0;
            r.data = ByteBuffer.wrap(copy, 0, (int) half).slice();
            r.cacheHit = true;
            r.expectedHeaderCrc = crc(origin, 0, headerEnd);
            r.expectedCrcs = expected;
            HostBuffer b =
                    (HostBuffer)
                            device.allocateFile(
                                    "x.safetensors", headerEnd, origin.length - headerEnd);
            StagingFile f = new StagingFile(r, b);
            f.accept(r);

            List<long[]> held = f.heldSegments();
            for (long[] s : held) {
                assertThat(Integer.toUnsignedLong(crc(origin, s[0], s[1])))
                        .as("recorded CRC-32C of [%d, %d) is the origin's", s[0], s[1])
                        .isEqualTo(s[2]);
            }
        }
    }

    private static int crc(byte[] bytes, long from, long to) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, (int) from, (int) (to - from));
        return (int) crc.getValue();
    }
}
