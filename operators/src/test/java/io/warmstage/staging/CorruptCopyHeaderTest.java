package io.warmstage.staging;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy (a peer's or this host's cache) whose header bytes are corrupt so that they no longer
 * parse is a copy that does not match its cache entry: the entry's header CRC-32C tells it apart
 * from the origin's header, so staging must fetch the file again from the origin (as for a corrupt
 * tensor) instead of failing the file as if the origin's file were not safetensors.
 */
class CorruptCopyHeaderTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path dir;

    @Test
    void aCopyWhoseHeaderJsonNoLongerParsesIsAMismatchNotAnInvalidFile() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        byte[] copy = origin.clone();
        copy[8] = 'X'; // the header's opening '{'
        assertThrows(CachedCopyMismatch.class, () -> stage(origin, copy));
    }

    @Test
    void aCopyWhoseHeaderLengthPrefixIsOffByOneIsAMismatchNotAnInvalidFile() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        byte[] copy = origin.clone();
        copy[0] ^= 0x01; // the little-endian header length, now 1 more or less
        assertThrows(CachedCopyMismatch.class, () -> stage(origin, copy));
    }

    /** Stages the header bytes of {@code copy} with the origin's checksums as the entry's. */
    private void stage(byte[] origin, byte[] copy) throws Exception {
        SafetensorsHeader h = HeaderParser.read(PEFT);
        long headerEnd = h.dataStart();
        int[] expected = new int[h.tensors().size()];
        for (int i = 0; i < expected.length; i++) {
            expected[i] =
                    crc(
                            origin,
                            headerEnd + h.tensors().get(i).begin(),
                            headerEnd + h.tensors().get(i).end());
        }
        try (HostDevice device = new HostDevice(dir)) {
            ChunkRecord r = new ChunkRecord();
            r.file = "http://origin/peft.safetensors";
            r.fileSize = origin.length;
            r.etag = "\"v1\"";
            r.model = "peft";
            r.headerEnd = headerEnd;
            r.offset = 0;
            r.data = ByteBuffer.wrap(copy, 0, (int) headerEnd).slice();
            r.expectedHeaderCrc = crc(origin, 0, headerEnd);
            r.expectedCrcs = expected;
            HostBuffer b =
                    (HostBuffer)
                            device.allocateFile(
                                    "x.safetensors", headerEnd, origin.length - headerEnd);
            new StagingFile(r, b).accept(r);
        }
    }

    private static int crc(byte[] bytes, long from, long to) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, (int) from, (int) (to - from));
        return (int) crc.getValue();
    }
}
