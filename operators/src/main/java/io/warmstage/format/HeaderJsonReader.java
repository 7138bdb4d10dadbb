package io.warmstage.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.warmstage.format.SafetensorsException.Reason;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Streams the JSON header into tensor entries and the {@code __metadata__} map, with Jackson's
 * streaming parser (no tree), duplicate keys rejected. Offsets are not yet checked for tiling.
 */
final class HeaderJsonReader {
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*)'");
    private static final int MAX_TEXT = (int) SafetensorsHeader.MAX_HEADER_LENGTH;
    private static final JsonFactory FACTORY =
            JsonFactory.builder()
                    // Attacker-chosen names must not fill the JVM's string pool. Names stay
                    // canonicalized: that keeps the byte-based UTF-8 parser, whose locations
                    // are byte offsets (checkTrailing relies on them).
                    .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
                    .streamReadConstraints(
                            StreamReadConstraints.builder()
                                    .maxStringLength(MAX_TEXT)
                                    .maxNameLength(MAX_TEXT)
                                    .build())
                    .build();

    /** Tensor entries in JSON order, and the metadata (empty when absent or null). */
    record Result(List<TensorInfo> tensors, Map<String, String> metadata) {}

    private HeaderJsonReader() {}

    /** Parses the N header bytes (already checked to be UTF-8). */
    static Result read(byte[] json) throws SafetensorsException {
        int start = skipWhitespace(json, 0);
        if (start == json.length || json[start] != '{') {
            throw error(
                    Reason.INVALID_HEADER_START,
                    start == json.length
                            ? "header is empty or blank; it must be a JSON object"
                            : "header must start with '{' but has byte "
                                    + hex(json[start])
                                    + " at header byte "
                                    + start);
        }
        try (JsonParser p = FACTORY.createParser(json)) {
            p.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            p.nextToken();
            Result result = readRoot(p);
            checkTrailing(json, p.currentLocation().getByteOffset());
            return result;
        } catch (JsonProcessingException e) {
            throw mapJsonError(e);
        } catch (IOException | RuntimeException e) {
            throw error(Reason.INVALID_HEADER_JSON, "header is not valid JSON: " + e);
        }
    }

    private static Result readRoot(JsonParser p) throws IOException, SafetensorsException {
        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            checkNoLoneSurrogate(key, "a header key");
            p.nextToken();
            if (key.equals("__metadata__")) {
                metadata = readMetadata(p);
            } else {
                tensors.add(TensorEntryReader.read(p, key));
            }
        }
        return new Result(tensors, metadata);
    }

    private static Map<String, String> readMetadata(JsonParser p)
            throws IOException, SafetensorsException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return Map.of();
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw error(
                    Reason.INVALID_METADATA,
                    "__metadata__ must be an object of strings or null, found "
                            + TensorEntryReader.describe(p.currentToken()));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw error(
                        Reason.INVALID_METADATA,
                        "__metadata__ value of key '"
                                + key
                                + "' is "
                                + TensorEntryReader.describe(p.currentToken())
                                + ", but every value must be a string");
            }
            checkNoLoneSurrogate(key, "a __metadata__ key");
            checkNoLoneSurrogate(p.getText(), "the __metadata__ value of key '" + key + "'");
            metadata.put(key, p.getText());
        }
        return metadata;
    }

    private static void checkTrailing(byte[] json, long end) throws SafetensorsException {
        int i = skipWhitespace(json, (int) end);
        if (i < json.length) {
            throw error(
                    Reason.INVALID_HEADER_JSON,
                    "header has byte "
                            + hex(json[i])
                            + " at header byte "
                            + i
                            + " after the JSON object; only spaces may follow it"
                            + (json[i] == 0 ? " (NUL padding is not allowed)" : ""));
        }
    }

    /**
     * Rejects a string holding a UTF-16 surrogate without its pair, which only a JSON escape
     * (backslash, u, D800 say) can produce: serde_json, the reference's parser, rejects it ("lone
     * leading surrogate"), and such a name has no UTF-8 form.
     */
    private static void checkNoLoneSurrogate(String s, String what) throws SafetensorsException {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean pair =
                    Character.isHighSurrogate(c)
                            && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1));
            if (pair) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw error(
                        Reason.INVALID_HEADER_JSON,
                        String.format(
                                "%s has a lone UTF-16 surrogate U+%04X at character %d;"
                                        + " JSON strings must be valid Unicode",
                                what, (int) c, i));
            }
        }
    }

    private static SafetensorsException mapJsonError(JsonProcessingException e) {
        String message = String.valueOf(e.getOriginalMessage());
        Matcher m = DUPLICATE.matcher(message);
        if (m.matches()) {
            return new SafetensorsException(
                    Reason.DUPLICATE_KEY,
                    null,
                    null,
                    "duplicate key: '"
                            + m.group(1)
                            + "' appears twice in the header; keys must be unique");
        }
        long at = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
        if (message.length() > 200) {
            message = message.substring(0, 200) + "...";
        }
        return error(
                Reason.INVALID_HEADER_JSON,
                "header is not valid JSON"
                        + (at >= 0 ? " at header byte " + at : "")
                        + ": "
                        + message);
    }

    private static int skipWhitespace(byte[] json, int from) {
        int i = Math.max(0, Math.min(from, json.length));
        while (i < json.length
                && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) {
            i++;
        }
        return i;
    }

    private static String hex(byte b) {
        return String.format("0x%02x", b & 0xff);
    }

    private static SafetensorsException error(Reason reason, String detail) {
        return new SafetensorsException(reason, null, null, detail);
    }
}
