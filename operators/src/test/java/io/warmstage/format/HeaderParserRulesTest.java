package io.warmstage.format;

import static io.warmstage.format.SafetensorsBytes.entry;
import static io.warmstage.format.SafetensorsBytes.file;
import static io.warmstage.format.SafetensorsBytes.lengthField;
import static io.warmstage.format.SafetensorsBytes.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.warmstage.format.SafetensorsException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** One negative test per {@link Reason} (and the valid edge cases), inputs built byte by byte. */
class HeaderParserRulesTest {
    private static final long HUGE_FILE = Long.MAX_VALUE;

    @Test
    void fewerThanEightBytesIsHeaderTooSmall() {
        SafetensorsException e = fails(() -> parse(new byte[] {5, 0, 0, 0, 0}));

        assertThat(e.reason()).isEqualTo(Reason.HEADER_TOO_SMALL);
        assertThat(e.getMessage()).contains("5 bytes");
    }

    @Test
    void lengthOverOneHundredMillionIsRejectedBeforeReadingTheHeader() {
        SafetensorsException e =
                fails(
                        () ->
                                HeaderParser.readHeaderLength(
                                        lengthField(100_000_001L), HUGE_FILE, "f"));

        assertThat(e.reason()).isEqualTo(Reason.HEADER_TOO_LARGE);
        assertThat(e.getMessage()).contains("100000001");
    }

    @Test
    void lengthOfTwoToTheSixtyThreeIsHeaderTooLarge() {
        byte[] n = {0, 0, 0, 0, 0, 0, 0, (byte) 0x80};

        SafetensorsException e = fails(() -> HeaderParser.readHeaderLength(n, HUGE_FILE, "f"));

        assertThat(e.reason()).isEqualTo(Reason.HEADER_TOO_LARGE);
        assertThat(e.getMessage()).contains("9223372036854775808");
    }

    @Test
    void lengthOfExactlyOneHundredMillionIsAccepted() throws Exception {
        assertThat(HeaderParser.readHeaderLength(lengthField(100_000_000L), HUGE_FILE, "f"))
                .isEqualTo(100_000_000L);
    }

    @Test
    void headerPastEndOfFileIsInvalidHeaderLength() {
        byte[] f = file("{}", 0);

        SafetensorsException e = fails(() -> HeaderParser.readHeaderLength(f, 9, "f"));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_LENGTH);
        assertThat(e.getMessage()).contains("file is 9 bytes, header says 8 + 2 = 10");
    }

    @Test
    void gitLfsPointerIsNotSafetensors() {
        byte[] f =
                ("version https://git-lfs.github.com/spec/v1\n"
                                + "oid sha256:58aa1873e05ce8e3da60b769f15a17f2f98a6573480c674b5abb77a0668fd288\n"
                                + "size 10376877880\n")
                        .getBytes(StandardCharsets.US_ASCII);

        SafetensorsException e = fails(() -> parse(f));

        assertThat(e.reason()).isEqualTo(Reason.NOT_SAFETENSORS);
        assertThat(e.getMessage()).contains("not a safetensors file: looks like a Git LFS pointer");
    }

    @Test
    void htmlErrorPageIsNotSafetensors() {
        byte[] f =
                "<!DOCTYPE html><html><body>403 Forbidden</body></html>"
                        .getBytes(StandardCharsets.US_ASCII);

        SafetensorsException e = fails(() -> parse(f));

        assertThat(e.reason()).isEqualTo(Reason.NOT_SAFETENSORS);
        assertThat(e.getMessage()).contains("HTML or XML");
    }

    @Test
    void lengthSixtyStartsWithLessThanButIsNotMistakenForHtml() throws Exception {
        String json = "{" + entry("test", "I32", "[2,2]", 0, 16) + "}";
        String padded = json + " ".repeat(60 - json.length());

        SafetensorsHeader h = parse(file(padded, 16));

        assertThat(h.headerLength()).isEqualTo(60);
        assertThat(file(padded, 16)[0]).isEqualTo((byte) '<');
    }

    @Test
    void invalidUtf8IsRejected() {
        byte[] header = "{\"a..\":{}}".getBytes(StandardCharsets.US_ASCII);
        header[3] = (byte) 0xC3;
        header[4] = (byte) 0x28;

        SafetensorsException e = fails(() -> parse(file(header, 0)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_UTF8);
        assertThat(e.getMessage()).contains("header byte 3");
    }

    @Test
    void headerNotStartingWithBraceIsInvalidStart() {
        assertThat(fails(() -> parse(file("[1,2]", 0))).reason())
                .isEqualTo(Reason.INVALID_HEADER_START);
        assertThat(fails(() -> parse(file("   ", 0))).reason())
                .isEqualTo(Reason.INVALID_HEADER_START);
    }

    @Test
    void nulPaddingAfterJsonIsRejected() {
        byte[] header = "{}\0\0\0\0\0\0".getBytes(StandardCharsets.US_ASCII);

        SafetensorsException e = fails(() -> parse(file(header, 0)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_JSON);
        assertThat(e.getMessage()).contains("0x00 at header byte 2").contains("NUL padding");
    }

    @Test
    void truncatedJsonIsInvalidJson() {
        assertThat(fails(() -> parse(file("{\"a\":{\"dtype\":\"F32\"", 0))).reason())
                .isEqualTo(Reason.INVALID_HEADER_JSON);
    }

    @Test
    void duplicateTensorNameWithDifferentOffsetsIsDuplicateKey() {
        String json =
                "{" + entry("w", "U8", "[4]", 0, 4) + "," + entry("w", "U8", "[4]", 4, 8) + "}";

        SafetensorsException e = fails(() -> parse(file(json, 8)));

        assertThat(e.reason()).isEqualTo(Reason.DUPLICATE_KEY);
        assertThat(e.getMessage()).contains("duplicate key: 'w' appears twice");
    }

    @Test
    void controlCharactersInATensorNameAreEscapedSoTheMessageIsOneLine() {
        // The JSON escapes decode to a name holding a newline and a line separator (U+2028).
        String json =
                "{\"a\\nb\\u2028c\":{\"dtype\":\"F8_E4M3FN\",\"shape\":[1],\"data_offsets\":[0,1]}}";

        SafetensorsException e = fails(() -> parse(file(json, 1)));

        assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_DTYPE);
        assertThat(e.tensor()).isEqualTo("a\nb" + (char) 0x2028 + "c");
        assertThat(e.getMessage())
                .isEqualTo(
                        "test.safetensors: tensor 'a\\u000ab\\u2028c' has unknown dtype"
                                + " 'F8_E4M3FN' (dtype names are case-sensitive, e.g. F32, BF16,"
                                + " F8_E4M3)");
        assertThat(e.detail()).startsWith("tensor 'a\\u000ab");
    }

    @ParameterizedTest
    @ValueSource(strings = {"w\\ud800", "w\\udc00", "\\udc00\\ud800"})
    void loneSurrogateEscapeInATensorNameIsRejectedLikeSerdeJson(String escapedName) {
        String json =
                "{\"" + escapedName + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";

        SafetensorsException e = fails(() -> parse(file(json, 1)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_JSON);
        assertThat(e.getMessage()).containsIgnoringCase("surrogate");
    }

    @Test
    void loneSurrogateEscapeInAMetadataValueIsRejected() {
        String json = "{\"__metadata__\":{\"format\":\"pt\\udc00\"}}";

        SafetensorsException e = fails(() -> parse(file(json, 0)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_JSON);
        assertThat(e.getMessage())
                .contains("__metadata__ value of key 'format' has a lone UTF-16 surrogate U+DC00");
    }

    @Test
    void surrogatePairEscapeInATensorNameIsOneCodePoint() throws Exception {
        String json =
                "{\"w\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";

        SafetensorsHeader h = parse(file(json, 1));

        assertThat(h.tensors()).extracting(TensorInfo::name).containsExactly("w\uD83D\uDE00");
    }

    @Test
    void metadataWithNonStringValueIsInvalidMetadata() {
        String json = "{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}";

        SafetensorsException e = fails(() -> parse(file(json, 0)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_METADATA);
        assertThat(e.getMessage()).contains("'step'").contains("must be a string");
    }

    @Test
    void metadataThatIsAnArrayIsInvalidMetadata() {
        assertThat(fails(() -> parse(file("{\"__metadata__\":[]}", 0))).reason())
                .isEqualTo(Reason.INVALID_METADATA);
    }

    @Test
    void extraFieldInTensorEntryIsIgnoredLikeTheReference() throws Exception {
        // safetensors' TensorInfo is deserialized without deny_unknown_fields: extra keys pass.
        String json =
                "{\"w\":{\"dtype\":\"U8\",\"align\":{\"a\":[1,2]},\"shape\":[1],\"data_offsets\":[0,1]}}";

        SafetensorsHeader h = parse(file(json, 1));

        assertThat(h.tensors())
                .singleElement()
                .satisfies(
                        t -> {
                            assertThat(t.name()).isEqualTo("w");
                            assertThat(t.dtype()).isEqualTo(Dtype.U8);
                            assertThat(t.byteSize()).isEqualTo(1);
                        });
    }

    @Test
    void missingShapeIsInvalidEntry() {
        String json = "{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}";

        SafetensorsException e = fails(() -> parse(file(json, 1)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_TENSOR_ENTRY);
        assertThat(e.getMessage()).contains("lacks shape");
    }

    @ParameterizedTest
    @ValueSource(strings = {"F8_E4M3FN", "f32"})
    void unknownDtypeNamesTensorAndDtype(String dtype) {
        String json = "{" + entry("layer.w", dtype, "[1]", 0, 1) + "}";

        SafetensorsException e = fails(() -> parse(file(json, 1)));

        assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_DTYPE);
        assertThat(e.tensor()).isEqualTo("layer.w");
        assertThat(e.getMessage()).contains("'layer.w'").contains("'" + dtype + "'");
    }

    @Test
    void negativeDimensionIsInvalidShape() {
        SafetensorsException e =
                fails(() -> parse(file("{" + entry("w", "U8", "[2,-1]", 0, 0) + "}", 0)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_SHAPE);
        assertThat(e.getMessage()).contains("dimension 1 is -1");
    }

    @Test
    void dimensionOverSixtyFourBitsIsInvalidShape() {
        String json = "{" + entry("w", "U8", "[9223372036854775808]", 0, 0) + "}";

        assertThat(fails(() -> parse(file(json, 0))).reason()).isEqualTo(Reason.INVALID_SHAPE);
    }

    @Test
    void endBeforeBeginIsInvalidOffsets() {
        SafetensorsException e =
                fails(() -> parse(file("{" + entry("w", "U8", "[0]", 4, 2) + "}", 4)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_OFFSETS);
        assertThat(e.getMessage()).contains("[4, 2]");
    }

    @Test
    void threeElementDataOffsetsIsInvalidOffsets() {
        String json = "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}";

        SafetensorsException e = fails(() -> parse(file(json, 1)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_OFFSETS);
        assertThat(e.getMessage()).contains("3 elements");
    }

    @Test
    void elementCountOverflowingSixtyFourBitsIsValidationOverflow() {
        String json = "{" + entry("w", "U8", "[4294967296,4294967296]", 0, 0) + "}";

        SafetensorsException e = fails(() -> parse(file(json, 0)));

        assertThat(e.reason()).isEqualTo(Reason.VALIDATION_OVERFLOW);
        assertThat(e.tensor()).isEqualTo("w");
    }

    @Test
    void f32OfThreeElementsInTenBytesIsInvalidInfo() {
        SafetensorsException e =
                fails(() -> parse(file("{" + entry("w", "F32", "[3]", 0, 10) + "}", 10)));

        assertThat(e.reason()).isEqualTo(Reason.TENSOR_INVALID_INFO);
        assertThat(e.getMessage()).contains("[0, 10) hold 10 bytes").contains("needs 12 bytes");
    }

    @Test
    void f4OfThreeElementsIsNotWholeBytes() {
        SafetensorsException e =
                fails(() -> parse(file("{" + entry("w", "F4", "[3]", 0, 2) + "}", 2)));

        assertThat(e.reason()).isEqualTo(Reason.TENSOR_INVALID_INFO);
        assertThat(e.getMessage()).contains("12 bits, not a whole number of bytes");
    }

    @Test
    void twoTensorsOnTheSameRangeOverlap() {
        String json =
                "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 0, 4) + "}";

        SafetensorsException e = fails(() -> parse(file(json, 4)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_OFFSET_TILING);
        assertThat(e.getMessage()).contains("'b' data_offsets [0, 4) overlaps tensor 'a' [0, 4)");
    }

    @Test
    void gapBetweenTensorsIsInvalidTiling() {
        String json =
                "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 6, 10) + "}";

        SafetensorsException e = fails(() -> parse(file(json, 10)));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_OFFSET_TILING);
        assertThat(e.getMessage()).contains("gap of 2 bytes");
    }

    @Test
    void offsetsPastEndOfFileAreIncompleteBuffer() {
        SafetensorsException e =
                fails(() -> parse(file("{" + entry("w", "U8", "[16]", 0, 16) + "}", 8)));

        assertThat(e.reason()).isEqualTo(Reason.METADATA_INCOMPLETE_BUFFER);
        assertThat(e.getMessage()).contains("8 + 55 + 16 = 79 bytes, but it is 71 bytes");
    }

    @Test
    void trailingBytesAfterLastTensorAreIncompleteBuffer() {
        assertThat(fails(() -> parse(file("{" + entry("w", "U8", "[2]", 0, 2) + "}", 3))).reason())
                .isEqualTo(Reason.METADATA_INCOMPLETE_BUFFER);
    }

    @ParameterizedTest
    @EnumSource(Dtype.class)
    void everyDtypeIsAcceptedWithItsSize(Dtype dtype) throws Exception {
        int bytes = dtype.bits(); // 8 elements of `bits` bits
        SafetensorsHeader h =
                parse(file("{" + entry("t", dtype.name(), "[2,4]", 0, bytes) + "}", bytes));

        assertThat(h.tensor("t").dtype()).isEqualTo(dtype);
        assertThat(h.tensor("t").byteSize()).isEqualTo(bytes);
    }

    @Test
    void subByteDtypesPackWholeBytes() throws Exception {
        String json =
                "{"
                        + entry("f4", "F4", "[2]", 0, 1)
                        + ","
                        + entry("f6", "F6_E2M3", "[4]", 1, 4)
                        + "}";

        SafetensorsHeader h = parse(file(json, 4));

        assertThat(h.tensor("f4").byteSize()).isEqualTo(1);
        assertThat(h.tensor("f6").byteSize()).isEqualTo(3);
    }

    @Test
    void zeroSizeAndRankZeroTensorsAreValid() throws Exception {
        String json =
                "{"
                        + entry("scalar", "F64", "[]", 0, 8)
                        + ","
                        + entry("empty_end", "F32", "[3,0]", 8, 8)
                        + ","
                        + entry("empty_start", "F32", "[0]", 0, 0)
                        + "}";

        SafetensorsHeader h = parse(file(json, 8));

        assertThat(h.tensors().stream().map(TensorInfo::name))
                .containsExactly("empty_start", "scalar", "empty_end");
        assertThat(h.tensor("scalar").shape()).isEmpty();
        assertThat(h.dataSize()).isEqualTo(8);
    }

    @Test
    void emptyHeaderIsValid() throws Exception {
        SafetensorsHeader h = parse(file("{}      ", 0));

        assertThat(h.tensors()).isEmpty();
        assertThat(h.metadata()).isEmpty();
        assertThat(h.fileSize()).isEqualTo(16);
    }

    @Test
    void leadingWhitespaceAndTrailingSpacesAndNullMetadataAreValid() throws Exception {
        String json = " \n{\"__metadata__\":null," + entry("w", "BF16", "[2]", 0, 4) + "}   ";

        SafetensorsHeader h = parse(file(json, 4));

        assertThat(h.metadata()).isEqualTo(Map.of());
        assertThat(h.tensor("w")).isEqualTo(new TensorInfo("w", Dtype.BF16, new long[] {2}, 0, 4));
    }

    @Test
    void readAttachesThePathToErrors(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path f = dir.resolve("bad.safetensors");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(file("{" + entry("w", "U8", "[2]", 0, 2) + "}", 1));
        java.nio.file.Files.write(f, out.toByteArray());

        SafetensorsException e = fails(() -> HeaderParser.read(f));

        assertThat(e.reason()).isEqualTo(Reason.METADATA_INCOMPLETE_BUFFER);
        assertThat(e.file()).isEqualTo(f.toString());
        assertThat(e.getMessage()).startsWith(f.toString() + ": ");
    }

    private interface Parse {
        void run() throws Exception;
    }

    private static SafetensorsException fails(Parse p) {
        SafetensorsException e = catchThrowableOfType(SafetensorsException.class, () -> p.run());
        assertThat(e).as("expected a SafetensorsException").isNotNull();
        return e;
    }
}
