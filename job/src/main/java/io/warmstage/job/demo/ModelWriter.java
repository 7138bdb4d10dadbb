package io.warmstage.job.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.warmstage.format.Dtype;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Writes safetensors files and a sharded index the way the current reference writer does: compact
 * JSON header with {@code __metadata__} first, tensors in the given order, header padded with
 * spaces to a multiple of 8 bytes.
 */
public final class ModelWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelWriter() {}

    /**
     * One tensor to write.
     *
     * @param name the tensor's name
     * @param dtype its dtype
     * @param shape its shape
     * @param fill gives the bytes of the tensor in blocks: called with the block's offset in the
     *     tensor, returns up to 1 MiB of bytes for it
     */
    public record Tensor(String name, Dtype dtype, long[] shape, LongFunction<byte[]> fill) {
        long bytes() {
            long n = dtype.bits();
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n / 8;
        }
    }

    /**
     * Writes one safetensors file.
     *
     * @return the file's size in bytes
     */
    public static long write(Path file, List<Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        byte[] header = header(tensors, metadata);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(
                    ByteBuffer.allocate(8)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putLong(header.length)
                            .array());
            out.write(header);
            for (Tensor t : tensors) {
                for (long off = 0; off < t.bytes(); ) {
                    byte[] block = t.fill().apply(off);
                    int n = (int) Math.min(block.length, t.bytes() - off);
                    out.write(block, 0, n);
                    off += n;
                }
            }
        }
        return Files.size(file);
    }

    /** Writes {@code model.safetensors.index.json} for the given weight map. */
    public static void writeIndex(Path file, Map<String, String> weightMap, long totalSize)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    }

    private static byte[] header(List<Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Object> h = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            h.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            long end = Math.addExact(offset, t.bytes());
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", t.dtype().name());
            e.put("shape", t.shape());
            e.put("data_offsets", new long[] {offset, end});
            h.put(t.name(), e);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(h);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }
}
