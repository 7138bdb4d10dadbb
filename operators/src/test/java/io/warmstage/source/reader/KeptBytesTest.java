package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.KeptSegments;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader reads a split from a staging file kept or published on its host only where the file's
 * bytes match their recorded CRC-32C; anything else comes from the origin.
 */
class KeptBytesTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
    private static final String URI = "http://origin/peft.safetensors";

    @TempDir Path root;

    @Test
    void aSplitInsideVerifiedRangesOfAKeptFileIsReadFromIt() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        List<TensorInfo> tensors = h.tensors();
        // The kept file holds the header and the first half of the tensors.
        TensorInfo lastHeld = tensors.get(tensors.size() / 2 - 1);
        long heldEnd = h.dataStart() + lastHeld.end();
        Path kept = keep(origin, heldEnd);
        List<long[]> segments = new ArrayList<>();
        segments.add(segment(origin, 0, h.dataStart()));
        for (TensorInfo t : tensors.subList(0, tensors.size() / 2)) {
            segments.add(segment(origin, h.dataStart() + t.begin(), h.dataStart() + t.end()));
        }
        new KeptSegments(URI, origin.length, "v1", segments).writeBeside(kept);

        try (KeptBytes local = new KeptBytes(root)) {
            ChunkSplit inside = split(h, 0, heldEnd);
            assertThat(local.covers(inside)).isTrue();
            ByteBuffer dst = ByteBuffer.allocate((int) heldEnd);
            assertThat(local.read(inside, 0, dst)).isTrue();
            assertThat(dst.array()).isEqualTo(Arrays.copyOf(origin, (int) heldEnd));
            assertThat(local.covers(split(h, 0, heldEnd + 1))).as("one byte past").isFalse();
            assertThat(local.covers(split(h, heldEnd, 10))).as("not held").isFalse();
            ObjectVersion other = new ObjectVersion(origin.length, "v2");
            assertThat(local.covers(split(h, 0, 10, other))).as("another version").isFalse();
        }
    }

    @Test
    void aRangeWhoseBytesDoNotMatchItsCrcIsReadFromTheOrigin() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        TensorInfo first = h.tensors().get(0);
        TensorInfo second = h.tensors().get(1);
        long a = h.dataStart() + first.begin();
        long b = h.dataStart() + second.begin();
        long c = h.dataStart() + second.end();
        byte[] bad = origin.clone();
        bad[(int) b] ^= 1; // the second tensor's bytes changed after they were recorded
        Path kept = keep(bad, c);
        new KeptSegments(
                        URI,
                        origin.length,
                        "v1",
                        List.of(segment(origin, a, b), segment(origin, b, c)))
                .writeBeside(kept);

        try (KeptBytes local = new KeptBytes(root)) {
            assertThat(local.covers(split(h, a, b - a))).isTrue();
            assertThat(local.covers(split(h, b, c - b))).isFalse();
        }
    }

    @Test
    void aPublishedStagingFileOfTheHostServesTheWholeFile() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        Path dir = Files.createDirectories(root.resolve("job-a").resolve("slot-0"));
        Path file = Files.write(dir.resolve("x.safetensors"), origin);
        List<StagedTensor> tensors = new ArrayList<>();
        for (TensorInfo t : h.tensors()) {
            long[] s = segment(origin, h.dataStart() + t.begin(), h.dataStart() + t.end());
            tensors.add(
                    new StagedTensor(
                            t.name(),
                            t.dtype().name(),
                            Arrays.stream(t.shape()).boxed().toList(),
                            List.of(t.begin(), t.end()),
                            String.format("%08x", s[2])));
        }
        StagedSet.at(root)
                .publish(
                        new StagedEntry(
                                StagedEntry.FORMAT,
                                URI,
                                origin.length,
                                "v1",
                                "peft",
                                "h",
                                "a",
                                0,
                                "cpu",
                                ProcessHandle.current().pid(),
                                "2026-12-03T00:00:00Z",
                                file.toString(),
                                h.dataStart(),
                                null,
                                tensors));

        try (KeptBytes local = new KeptBytes(root)) {
            ChunkSplit whole = split(h, 0, origin.length);
            assertThat(local.covers(whole)).isTrue();
            ByteBuffer dst = ByteBuffer.allocate(origin.length);
            assertThat(local.read(whole, 0, dst)).isTrue();
            assertThat(dst.array()).isEqualTo(origin);
        }
    }

    private Path keep(byte[] bytes, long upTo) throws Exception {
        Path dir = Files.createDirectories(root.resolve("job-a").resolve("slot-3"));
        byte[] file = new byte[bytes.length]; // a staging file: full size, zeros not yet staged
        System.arraycopy(bytes, 0, file, 0, (int) upTo);
        return Files.write(dir.resolve(".x.safetensors.kept"), file);
    }

    private static long[] segment(byte[] bytes, long from, long to) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, (int) from, (int) (to - from));
        return new long[] {from, to, crc.getValue()};
    }

    private static ChunkSplit split(SafetensorsHeader h, long offset, long length)
            throws Exception {
        return split(h, offset, length, new ObjectVersion(Files.size(PEFT), "v1"));
    }

    private static ChunkSplit split(
            SafetensorsHeader h, long offset, long length, ObjectVersion version) {
        return new ChunkSplit(
                "s", 0, "peft", 1, URI, version, h.dataStart(), offset, length, false, null);
    }
}
