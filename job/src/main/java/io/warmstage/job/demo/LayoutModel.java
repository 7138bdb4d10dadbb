package io.warmstage.job.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.format.Dtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a synthetic checkpoint from a published model layout ({@code shared/data/layouts/*.json}:
 * shards, tensor names, dtypes, shapes), optionally scaled down, with an index.json. Each tensor's
 * first dimension is divided by {@code scale} (rounded up), so the files keep the model's names,
 * shard assignment and dtypes at about 1/scale of its size. Bytes are seeded random data.
 */
public final class LayoutModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LayoutModel() {}

    /**
     * Writes the model into {@code dir}.
     *
     * @param layout a layout JSON with {@code shards[].file} and {@code shards[].tensors[]}
     * @param scale divides each tensor's first dimension, at least 1
     * @return the index.json path
     * @throws IOException if the layout cannot be read or a file cannot be written
     */
    public static Path write(Path layout, int scale, Path dir) throws IOException {
        if (scale < 1) {
            throw new IllegalArgumentException("scale must be at least 1, got " + scale);
        }
        JsonNode root = JSON.readTree(layout.toFile());
        Files.createDirectories(dir);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (JsonNode shard : root.get("shards")) {
            String file = shard.get("file").asText();
            List<ModelWriter.Tensor> tensors = new ArrayList<>();
            for (JsonNode t : shard.get("tensors")) {
                ModelWriter.Tensor tensor = tensor(t, scale);
                tensors.add(tensor);
                weightMap.put(tensor.name(), file);
                total += tensor.bytes();
            }
            ModelWriter.write(dir.resolve(file), tensors, Map.of("format", "pt"));
        }
        Path index = dir.resolve("model.safetensors.index.json");
        ModelWriter.writeIndex(index, weightMap, total);
        return index;
    }

    private static ModelWriter.Tensor tensor(JsonNode t, int scale) {
        String name = t.get("name").asText();
        Dtype dtype = Dtype.fromName(t.get("dtype").asText());
        if (dtype == null) {
            throw new IllegalArgumentException("unknown dtype in layout: " + t);
        }
        JsonNode dims = t.get("shape");
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i).asLong();
        }
        if (shape.length > 0) {
            shape[0] = (shape[0] + scale - 1) / scale;
        }
        long seed = name.hashCode();
        return new ModelWriter.Tensor(name, dtype, shape, off -> block(seed, off));
    }

    private static byte[] block(long seed, long offset) {
        byte[] b = new byte[1 << 20];
        new SplittableRandom(seed * 31 + offset).nextBytes(b);
        return b;
    }
}
