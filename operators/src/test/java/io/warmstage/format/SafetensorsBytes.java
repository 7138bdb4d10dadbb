package io.warmstage.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Builds safetensors files byte by byte for tests, and parses whole files held in memory. */
final class SafetensorsBytes {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsBytes() {}

    /** The 8-byte little-endian length field for {@code n}. */
    static byte[] lengthField(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    /** A file: length field, the header as given, then {@code dataSize} data bytes. */
    static byte[] file(byte[] header, int dataSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(lengthField(header.length));
        out.writeBytes(header);
        for (int i = 0; i < dataSize; i++) {
            out.write(i);
        }
        return out.toByteArray();
    }

    /** A file whose header is {@code headerJson} in UTF-8. */
    static byte[] file(String headerJson, int dataSize) {
        return file(headerJson.getBytes(StandardCharsets.UTF_8), dataSize);
    }

    /** One tensor entry, {@code "name":{"dtype":..,"shape":[..],"data_offsets":[b,e]}}. */
    static String entry(String name, String dtype, String shape, long begin, long end) {
        return quote(name)
                + ":{\"dtype\":"
                + quote(dtype)
                + ",\"shape\":"
                + shape
                + ",\"data_offsets\":["
                + begin
                + ","
                + end
                + "]}";
    }

    /**
     * A whole file written like a safetensors writer would, with tensors in the given JSON order
     * (their offsets as given), metadata first (or {@code "__metadata__":null} when null and {@code
     * writeNullMetadata}), then {@code trailingSpaces} spaces.
     */
    static byte[] write(
            List<TensorInfo> tensorsInJsonOrder,
            Map<String, String> metadata,
            boolean writeNullMetadata,
            int trailingSpaces,
            long dataSize) {
        StringBuilder sb = new StringBuilder("{");
        if (metadata != null || writeNullMetadata) {
            sb.append("\"__metadata__\":").append(toJson(metadata));
        }
        for (TensorInfo t : tensorsInJsonOrder) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(entry(t.name(), t.dtype().name(), toJson(t.shape()), t.begin(), t.end()));
        }
        sb.append('}').append(" ".repeat(trailingSpaces));
        return file(sb.toString(), Math.toIntExact(dataSize));
    }

    /** Parses a whole file held in memory: length field, then header, against its length. */
    static SafetensorsHeader parse(byte[] file) throws SafetensorsException {
        long n = HeaderParser.readHeaderLength(file, file.length, "test.safetensors");
        byte[] header = Arrays.copyOfRange(file, 8, Math.toIntExact(8 + n));
        return HeaderParser.parse(header, file.length, "test.safetensors");
    }

    static String quote(String s) {
        return toJson(s);
    }

    private static String toJson(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
