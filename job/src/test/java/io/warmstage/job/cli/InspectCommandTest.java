package io.warmstage.job.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code warmstage inspect}: exit 1 with the reason on one stderr line for every rejected input
 * (DESIGN.md "Safetensors rules"), exit 0 and the header for valid files, exit 2 for a usage error.
 */
class InspectCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    /** One malformed file per rule: a label (the file name), its bytes, the words of its rule. */
    static Stream<Arguments> rejected() {
        return Stream.of(
                reject(
                        "length-over-limit",
                        concat(lengthField(100_000_001L), ascii("{}")),
                        "header length 100000001 is over the limit of 100000000 bytes"),
                reject(
                        "length-two-to-the-63",
                        concat(lengthField(Long.MIN_VALUE), ascii("{}")),
                        "header length 9223372036854775808 is over the limit"),
                reject(
                        "lfs-pointer",
                        ascii(
                                "version https://git-lfs.github.com/spec/v1\n"
                                        + "oid sha256:58aa1873e05ce8e3da60b769f15a17f2f98a6573480c674b5abb77a0668fd288\n"
                                        + "size 10376877880\n"),
                        "not a safetensors file: looks like a Git LFS pointer"),
                reject(
                        "html-page",
                        ascii(
                                "<!DOCTYPE html>\n<html><head><title>404 Not Found</title>"
                                        + "</head><body>Not Found</body></html>\n"),
                        "not a safetensors file: looks like an HTML or XML page"),
                reject(
                        "duplicate-name",
                        file(
                                "{"
                                        + entry("w", "U8", "[4]", "0,4")
                                        + ","
                                        + entry("w", "U8", "[4]", "4,8")
                                        + "}",
                                8),
                        "duplicate key: 'w' appears twice in the header"),
                reject(
                        "same-byte-range",
                        file(
                                "{"
                                        + entry("a", "U8", "[4]", "0,4")
                                        + ","
                                        + entry("b", "U8", "[4]", "0,4")
                                        + "}",
                                4),
                        "tensor 'b' data_offsets [0, 4) overlaps tensor 'a' [0, 4)"),
                reject(
                        "offsets-past-end",
                        file("{" + entry("w", "U8", "[8]", "0,8") + "}", 4),
                        "tensors end at data offset 8",
                        "the file should be 8 + 53 + 8 = 69 bytes, but it is 65 bytes"),
                reject(
                        "end-before-begin",
                        file("{" + entry("w", "U8", "[0]", "4,0") + "}", 4),
                        "data_offsets [4, 0] end before they begin"),
                reject(
                        "f32-of-3-in-10-bytes",
                        file("{" + entry("w", "F32", "[3]", "0,10") + "}", 10),
                        "hold 10 bytes but shape [3] of F32 needs 12 bytes"),
                reject(
                        "shape-overflow",
                        file("{" + entry("w", "F32", "[4294967296,4294967296]", "0,4") + "}", 4),
                        "shape [4294967296, 4294967296] of F32 overflows 64-bit arithmetic"),
                reject(
                        "negative-dimension",
                        file("{" + entry("w", "U8", "[-1]", "0,0") + "}", 0),
                        "shape dimension 0 is -1; dimensions must be non-negative"),
                reject(
                        "three-offsets",
                        file("{" + entry("w", "U8", "[4]", "0,4,4") + "}", 4),
                        "data_offsets has 3 elements; it must be exactly [begin, end]"),
                reject(
                        "dtype-f8-e4m3fn",
                        file("{" + entry("w", "F8_E4M3FN", "[4]", "0,4") + "}", 4),
                        "tensor 'w' has unknown dtype 'F8_E4M3FN'"),
                reject(
                        "dtype-lower-case-f32",
                        file("{" + entry("w", "f32", "[1]", "0,4") + "}", 4),
                        "tensor 'w' has unknown dtype 'f32'",
                        "case-sensitive"),
                reject(
                        "newline-in-name",
                        file("{" + entry("a\\nb", "F8_E4M3FN", "[4]", "0,4") + "}", 4),
                        "tensor 'a\\u000ab' has unknown dtype 'F8_E4M3FN'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void malformedFileIsOneLineWithItsReason(String name, byte[] bytes, List<String> words)
            throws Exception {
        Path f = dir.resolve(name + ".safetensors");
        Files.write(f, bytes);

        Run run = run("inspect", f.toString());

        assertRejected(run, f.getFileName().toString(), words);
    }

    @Test
    void indexNamingAMissingShardIsRejected() throws Exception {
        Files.write(dir.resolve("model-00001-of-00002.safetensors"), oneTensorFile("a"));
        Path index =
                writeIndex(
                        "{\"metadata\":{\"total_size\":8},\"weight_map\":{"
                                + "\"a\":\"model-00001-of-00002.safetensors\","
                                + "\"b\":\"model-00002-of-00002.safetensors\"}}");

        Run run = run("inspect", index.toString());

        assertRejected(run, "model-00002-of-00002.safetensors", List.of("file not found"));
    }

    @Test
    void indexNamingATensorItsShardLacksIsRejected() throws Exception {
        Files.write(dir.resolve("model.safetensors"), oneTensorFile("a"));
        Path index =
                writeIndex(
                        "{\"weight_map\":{\"a\":\"model.safetensors\","
                                + "\"ghost\":\"model.safetensors\"}}");

        Run run = run("inspect", index.toString());

        assertRejected(
                run,
                "model.safetensors.index.json",
                List.of(
                        "tensor 'ghost' is listed in shard 'model.safetensors'"
                                + " but that shard does not hold it"));
    }

    @Test
    void indexWithAnEmptyWeightMapIsRejected() throws Exception {
        Path index = writeIndex("{\"metadata\":{\"total_size\":0},\"weight_map\":{}}");

        Run run = run("inspect", index.toString());

        assertRejected(
                run,
                "model.safetensors.index.json",
                List.of("weight_map is empty; it must name at least one tensor"));
    }

    @Test
    void validFilesPrintJsonWithEveryTensor() throws Exception {
        assertJsonTensorCounts(
                SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors"), 20);
        assertJsonTensorCounts(
                SharedData.real()
                        .resolve(
                                "neuralmagic_compressed-tensors__src__compressed_tensors__transform__utils__hadamards.safetensors"),
                66);
        assertJsonTensorCounts(
                SharedData.sharded().resolve("model.safetensors.index.json"), 19, 1, 2, 4, 7, 3);
    }

    @Test
    void validFilePrintsATable() {
        Path f = SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

        Run run = run("inspect", f.toString());

        assertThat(run.exit()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out())
                .contains(f.toUri().toString())
                .contains("353808 bytes, header 1624 bytes, 20 tensors");
    }

    @Test
    void missingUriIsAUsageError() {
        Run run = run("inspect");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("Missing required parameter: 'URI'").contains("Usage:");
        assertNoStackTrace(run);
    }

    private void assertJsonTensorCounts(Path file, int... tensorsPerFile) throws Exception {
        Run run = run("inspect", "--json", file.toString());

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.err()).isEmpty();
        JsonNode files = JSON.readTree(run.out());
        assertThat(files.isArray()).isTrue();
        assertThat(files).hasSize(tensorsPerFile.length);
        for (int i = 0; i < tensorsPerFile.length; i++) {
            JsonNode f = files.get(i);
            assertThat(f.get("tensors")).hasSize(tensorsPerFile[i]);
            assertThat(f.get("bytes").asLong())
                    .isEqualTo(Files.size(Path.of(java.net.URI.create(f.get("uri").asText()))));
        }
    }

    private static void assertRejected(Run run, String fileName, List<String> words) {
        assertThat(run.exit()).as(run.err()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).endsWith(System.lineSeparator());
        assertThat(run.err().lines()).hasSize(1);
        assertThat(run.err()).startsWith("invalid: ").contains(fileName);
        words.forEach(w -> assertThat(run.err()).contains(w));
        assertNoStackTrace(run);
    }

    private static void assertNoStackTrace(Run run) {
        for (String s : List.of(run.out(), run.err())) {
            assertThat(s).doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    private Path writeIndex(String json) throws Exception {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, json);
        return index;
    }

    /** What {@code inspect} printed and returned. */
    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, UTF_8);
                PrintStream e = new PrintStream(err, true, UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            int exit = WarmstageCli.execute(args);
            return new Run(exit, out.toString(UTF_8), err.toString(UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static Arguments reject(String name, byte[] bytes, String... words) {
        return Arguments.of(name, bytes, List.of(words));
    }

    /** A valid file holding one U8 [4] tensor. */
    private static byte[] oneTensorFile(String name) {
        return file("{" + entry(name, "U8", "[4]", "0,4") + "}", 4);
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\""
                + name
                + "\":{\"dtype\":\""
                + dtype
                + "\",\"shape\":"
                + shape
                + ",\"data_offsets\":["
                + offsets
                + "]}";
    }

    /** Length field, the header, then {@code dataSize} data bytes 0, 1, 2, ... */
    private static byte[] file(String header, int dataSize) {
        byte[] json = ascii(header);
        byte[] data = new byte[dataSize];
        for (int i = 0; i < dataSize; i++) {
            data[i] = (byte) i;
        }
        return concat(lengthField(json.length), json, data);
    }

    private static byte[] lengthField(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
