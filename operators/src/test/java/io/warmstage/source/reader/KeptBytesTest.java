package io.warmstage.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.KeptSegments;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.storage.FileId;
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
            DataSplit inside = split(h, 0, heldEnd);
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
    void aPublishedStagingFileOfTheHostServesItsTensorsButNotItsHeader() throws Exception {
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
            assertThat(local.covers(split(h, 0, origin.length)))
                    .as("the header has no checksum in the entry: never served")
                    .isFalse();
            long start = h.dataStart();
            DataSplit data = split(h, start, origin.length - start);
            assertThat(local.covers(data)).isTrue();
            ByteBuffer dst = ByteBuffer.allocate((int) (origin.length - start));
            assertThat(local.read(data, start, dst)).isTrue();
            assertThat(dst.array())
                    .isEqualTo(Arrays.copyOfRange(origin, (int) start, origin.length));
        }
    }

    @Test
    void aKeptFileOfAVersionWithoutAStrongTokenIsNotRead() throws Exception {
        // Without an ETag (or with a weak one) only the size pins the version: a file rewritten
        // at the origin with the same size cannot be told apart from a kept copy of an earlier
        // job on this host, whose bytes match their own CRC-32C.
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        byte[] earlier = origin.clone();
        long a = h.dataStart() + h.tensors().get(0).begin();
        long b = h.dataStart() + h.tensors().get(0).end();
        earlier[(int) a] ^= 1; // what the origin served before the rewrite
        for (String etag : new String[] {null, "W/\"1\""}) {
            Path kept = keep(earlier, b);
            new KeptSegments(URI, origin.length, etag, List.of(segment(earlier, a, b)))
                    .writeBeside(kept);
            try (KeptBytes local = new KeptBytes(root)) {
                DataSplit s = split(h, a, b - a, new ObjectVersion(origin.length, etag));
                ByteBuffer dst = ByteBuffer.allocate((int) (b - a));
                boolean read = local.read(s, a, dst);
                assertThat(
                                !read
                                        || Arrays.equals(
                                                dst.array(),
                                                Arrays.copyOfRange(origin, (int) a, (int) b)))
                        .as("bytes read for version %s are the origin's", etag)
                        .isTrue();
            }
        }
    }

    @Test
    void aPublishedFileWhoseHeaderNamesAnotherDtypeDoesNotServeItsHeader() throws Exception {
        // Same length, same names and offsets: the first tensor's dtype differs.
        assertHeaderNotServedWhenChanged("\"F32\"", 'I');
    }

    @Test
    void aPublishedFileWhoseHeaderMetadataChangedDoesNotServeItsHeader() throws Exception {
        // Same length, same tensors: a metadata value differs.
        assertHeaderNotServedWhenChanged("\"pt\"", 'x');
    }

    @Test
    void anEntryNamingARelativeFileIsSkippedNotFailingTheRead() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        publishAt("y.safetensors", origin, h); // not a path in a slot directory
        try (KeptBytes local = new KeptBytes(root)) {
            assertThat(local.covers(split(h, 0, origin.length))).isFalse();
        }
    }

    @Test
    void aRecordWithNullSegmentsIsSkippedNotFailingTheRead() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        long a = h.dataStart() + h.tensors().get(0).begin();
        long b = h.dataStart() + h.tensors().get(0).end();
        Path kept = keep(origin, b);
        long crc = segment(origin, a, b)[2];
        String prefix = "{\"uri\":\"" + URI + "\",\"size\":" + origin.length + ",\"etag\":\"v1\",";
        Files.writeString(KeptSegments.recordOf(kept), prefix + "\"segments\":null}");
        try (KeptBytes local = new KeptBytes(root)) {
            assertThat(local.covers(split(h, a, b - a))).isFalse();
        }
        Files.writeString(
                KeptSegments.recordOf(kept),
                prefix + "\"segments\":[null,[" + a + "," + b + "," + crc + "]]}");
        try (KeptBytes local = new KeptBytes(root)) {
            assertThat(local.covers(split(h, a, b - a))).as("the valid segment").isTrue();
        }
    }

    @Test
    void aKeptFileWithoutAVerifiedRangeDoesNotHideAnotherThatHasOne() throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        long a = h.dataStart() + h.tensors().get(0).begin();
        long b = h.dataStart() + h.tensors().get(0).end();
        byte[] bad = origin.clone();
        bad[(int) a] ^= 1;
        Path dir = Files.createDirectories(root.resolve("job-a").resolve("slot-1"));
        Path wrong = Files.write(dir.resolve(".w.safetensors.kept"), bad);
        new KeptSegments(URI, origin.length, "v1", List.of(segment(origin, a, b)))
                .writeBeside(wrong);
        Path right = keep(origin, b);
        new KeptSegments(URI, origin.length, "v1", List.of(segment(origin, a, b)))
                .writeBeside(right);
        try (KeptBytes local = new KeptBytes(root)) {
            ByteBuffer dst = ByteBuffer.allocate((int) (b - a));
            assertThat(local.read(split(h, a, b - a), a, dst)).isTrue();
            assertThat(Arrays.equals(dst.array(), Arrays.copyOfRange(origin, (int) a, (int) b)))
                    .isTrue();
        }
    }

    private void assertHeaderNotServedWhenChanged(String find, char to) throws Exception {
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        byte[] changed = origin.clone();
        String header = new String(changed, 8, (int) h.dataStart() - 8, "ISO-8859-1");
        changed[8 + header.indexOf(find) + 1] = (byte) to;
        publish(changed, h);

        try (KeptBytes local = new KeptBytes(root)) {
            DataSplit head = split(h, 0, h.dataStart());
            ByteBuffer dst = ByteBuffer.allocate((int) h.dataStart());
            boolean read = local.read(head, 0, dst);
            assertThat(
                            !read
                                    || Arrays.equals(
                                            dst.array(),
                                            Arrays.copyOf(origin, (int) h.dataStart())))
                    .as("header bytes read from the published file are the origin's")
                    .isTrue();
        }
    }

    private void publish(byte[] bytes, SafetensorsHeader h) throws Exception {
        Path dir = Files.createDirectories(root.resolve("job-b").resolve("slot-0"));
        publishAt(Files.write(dir.resolve("y.safetensors"), bytes).toString(), bytes, h);
    }

    private void publishAt(String file, byte[] bytes, SafetensorsHeader h) throws Exception {
        List<StagedTensor> tensors = new ArrayList<>();
        for (TensorInfo t : h.tensors()) {
            long[] s = segment(bytes, h.dataStart() + t.begin(), h.dataStart() + t.end());
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
                                bytes.length,
                                "v1",
                                "peft",
                                "h",
                                "b",
                                0,
                                "cpu",
                                ProcessHandle.current().pid(),
                                "2026-12-03T00:00:00Z",
                                file,
                                h.dataStart(),
                                null,
                                tensors));
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

    private static DataSplit split(SafetensorsHeader h, long offset, long length) throws Exception {
        return split(h, offset, length, new ObjectVersion(Files.size(PEFT), "v1"));
    }

    private static DataSplit split(
            SafetensorsHeader h, long offset, long length, ObjectVersion version) {
        return new DataSplit(
                "s",
                "peft",
                1,
                new FileId(URI, version),
                h.dataStart(),
                offset,
                length,
                List.of(),
                List.of(Destination.of(0)),
                0);
    }
}
