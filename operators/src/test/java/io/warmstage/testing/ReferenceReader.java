package io.warmstage.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * An independent safetensors reader for tests: plain Jackson over the whole file, none of
 * Warmstage's parsing. Gives each tensor's bytes and CRC-32C as they are at the origin.
 */
public final class ReferenceReader {
    private ReferenceReader() {}

    /** Tensor name to its bytes, for the file at {@code path}. */
    public static Map<String, byte[]> tensors(Path path) throws IOException {
        byte[] file = Files.readAllBytes(path);
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = new ObjectMapper().readTree(Arrays.copyOfRange(file, 8, (int) (8 + n)));
        Map<String, byte[]> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            int begin = (int) (8 + n + e.getValue().get("data_offsets").get(0).asLong());
            int end = (int) (8 + n + e.getValue().get("data_offsets").get(1).asLong());
            out.put(e.getKey(), Arrays.copyOfRange(file, begin, end));
        }
        return out;
    }

    /** Tensor name to the CRC-32C of its bytes, as 8 lowercase hex digits. */
    public static Map<String, String> crcs(Path path) throws IOException {
        Map<String, String> out = new HashMap<>();
        tensors(path)
                .forEach(
                        (name, bytes) -> {
                            CRC32C c = new CRC32C();
                            c.update(bytes);
                            out.put(name, String.format("%08x", c.getValue()));
                        });
        return out;
    }

    /** The data section of the file (bytes 8 + N to the end). */
    public static byte[] dataSection(Path path) throws IOException {
        byte[] file = Files.readAllBytes(path);
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return Arrays.copyOfRange(file, (int) (8 + n), file.length);
    }
}
