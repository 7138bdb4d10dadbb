package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static io.warmstage.job.cli.StageCommandITCase.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.cache.CacheEntry;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.storage.FaultyRangeHandler;
import io.warmstage.storage.RangeServer;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cached copy whose bytes rotted on disk after it was published (same size, same sidecar): a
 * cache hit checks the header and every tensor against the CRC-32C values its entry recorded while
 * it stages them, instead of reading the whole copy first. A mismatch removes the copy and fetches
 * the file again from the origin; every tensor is reported once, with the origin's CRC-32C.
 */
class CorruptCacheITCase {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

    @TempDir Path tmp;
    private RangeServer origin;
    private byte[] bytes;
    private String uri;
    private Path cache;

    @BeforeEach
    void start() throws Exception {
        origin = new RangeServer();
        bytes = Files.readAllBytes(CNN);
        origin.handler.put("/cnn.safetensors", bytes);
        uri = origin.uri("/cnn.safetensors").toString();
        cache = tmp.resolve("cache");
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
    }

    @Test
    void theEntryRecordsTheHeadersAndEveryTensorsCrc32c() throws Exception {
        fill();
        CacheEntry e = entry();
        SafetensorsHeader h = HeaderParser.read(CNN);
        long headerEnd = headerEnd();
        assertThat(e.headerCrc32c()).isEqualTo(crc(0, headerEnd));
        List<Long> want = new ArrayList<>();
        for (TensorInfo t : h.tensors()) {
            want.add(crc(headerEnd + t.begin(), headerEnd + t.end()));
        }
        assertThat(e.tensorCrc32c()).isEqualTo(want);
    }

    @Test
    void aHitReadsTheCopyOnceAndNothingFromTheOrigin() throws Exception {
        fill();
        long served = dataBytesServed();
        Path report = tmp.resolve("hit.jsonl");
        Run hit = stage(report);

        assertThat(hit.code()).as(hit.out() + hit.err()).isZero();
        assertThat(hit.out()).contains("1 hits, 0 misses");
        assertThat(dataBytesServed() - served).as("bytes from the origin").isZero();
        assertThat(tensorCrcs(report)).isEqualTo(ReferenceReader.crcs(CNN));
    }

    @Test
    void aRottenTensorInTheCopyIsFetchedAgainAndReportedOnceRight() throws Exception {
        fill();
        TensorInfo last =
                HeaderParser.read(CNN).tensors().get(HeaderParser.read(CNN).tensors().size() - 1);
        rot(headerEnd() + last.begin() + last.byteSize() / 2);
        long served = dataBytesServed();

        Path report = tmp.resolve("rotten.jsonl");
        Run run = stage(report);

        assertThat(run.code()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("0 hits, 1 misses");
        List<JsonNode> tensors = tensorEvents(report);
        assertThat(tensors).hasSize(HeaderParser.read(CNN).tensors().size()); // each once
        assertThat(tensorCrcs(report)).isEqualTo(ReferenceReader.crcs(CNN));
        assertThat(dataBytesServed() - served)
                .as("the file again from the origin")
                .isEqualTo(bytes.length);
        assertThat(run.out())
                .containsOnlyOnce("WARNING cached copy " + dataFiles().get(0))
                .contains("was corrupt");
        assertThat(Files.readAllBytes(dataFiles().get(0)))
                .as("the rotten copy is replaced by the origin's bytes")
                .isEqualTo(bytes);

        Run hit = stage(tmp.resolve("hit.jsonl"));
        assertThat(hit.out()).contains("1 hits, 0 misses");
        assertThat(tensorCrcs(tmp.resolve("hit.jsonl"))).isEqualTo(ReferenceReader.crcs(CNN));
    }

    @Test
    void aRottenHeaderInTheCopyIsReadFromTheOrigin() throws Exception {
        fill();
        long headerEnd = headerEnd();
        // A byte of the JSON's padding or text: still the same length, another CRC-32C.
        rot(headerEnd - 1);
        Path report = tmp.resolve("header.jsonl");
        Run run = stage(report);

        assertThat(run.code()).as(run.out() + run.err()).isZero();
        assertThat(tensorCrcs(report)).isEqualTo(ReferenceReader.crcs(CNN));
        assertThat(tensorEvents(report)).hasSize(HeaderParser.read(CNN).tensors().size());
        assertThat(run.out()).contains("0 hits, 1 misses");
    }

    private void fill() throws Exception {
        Run first = stage(tmp.resolve("fill.jsonl"));
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        assertThat(first.out()).contains("0 hits, 1 misses");
        assertThat(dataFiles()).hasSize(1);
    }

    private Run stage(Path report) {
        return cli(
                "stage",
                "--model",
                uri,
                "--cache-dir",
                cache.toString(),
                "--report",
                report.toString());
    }

    /** Flips one byte of the cached copy in place: same size, same sidecar. */
    private void rot(long at) throws Exception {
        Path data = dataFiles().get(0);
        byte[] b = Files.readAllBytes(data);
        b[Math.toIntExact(at)] ^= 0x20;
        Files.write(data, b);
    }

    private List<Path> dataFiles() throws Exception {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).toList();
        }
    }

    private CacheEntry entry() throws Exception {
        try (Stream<Path> s = Files.list(cache)) {
            Path sidecar =
                    s.filter(p -> p.toString().endsWith(".entry.json")).findFirst().orElseThrow();
            return new com.fasterxml.jackson.databind.ObjectMapper()
                    .readValue(sidecar.toFile(), CacheEntry.class);
        }
    }

    private long headerEnd() {
        return 8 + ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private long crc(long from, long to) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(bytes, (int) from, (int) (to - from));
        return c.getValue();
    }

    /** Bytes of ranged GETs the origin answered. */
    private long dataBytesServed() {
        long n = 0;
        for (FaultyRangeHandler.Seen s : origin.handler.requests()) {
            if (!"GET".equals(s.method()) || s.range() == null) {
                continue;
            }
            Matcher m = RANGE.matcher(s.range());
            if (m.find()) {
                n += Long.parseLong(m.group(2)) - Long.parseLong(m.group(1)) + 1;
            }
        }
        return n;
    }

    private static List<JsonNode> tensorEvents(Path report) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : report(report)) {
            if (n.get("event").asText().equals("tensor")) {
                out.add(n);
            }
        }
        return out;
    }

    private static Map<String, String> tensorCrcs(Path report) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (JsonNode n : tensorEvents(report)) {
            out.put(n.get("tensor").asText(), n.get("crc32c").asText());
        }
        return out;
    }
}
