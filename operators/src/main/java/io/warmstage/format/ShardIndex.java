package io.warmstage.format;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.format.SafetensorsException.Reason;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A sharded checkpoint's {@code model.safetensors.index.json}: {@code {"metadata": {"total_size":
 * bytes}?, "weight_map": {tensor: shard file}}}.
 *
 * <p>The index is the allow-list (DESIGN.md "Sharded checkpoints"): every shard and tensor it names
 * must be there; a tensor found in two shards is taken from the shard the index names; shards it
 * does not name are never listed.
 */
public final class ShardIndex {
    private static final ObjectMapper MAPPER =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String indexUri;
    private final Map<String, String> weightMap;
    private final List<String> shardFiles;
    private final OptionalLong totalSize;

    private ShardIndex(String indexUri, Map<String, String> weightMap, OptionalLong totalSize) {
        this.indexUri = indexUri;
        this.weightMap = Collections.unmodifiableMap(weightMap);
        this.shardFiles = List.copyOf(new LinkedHashSet<>(weightMap.values()));
        this.totalSize = totalSize;
    }

    /**
     * Parses an index file.
     *
     * @param json the index file's bytes (UTF-8 JSON)
     * @param indexUri where the index came from, used in error messages
     * @throws SafetensorsException INVALID_INDEX for bad JSON, a missing, mistyped or empty
     *     weight_map, a non-string shard name, a shard name that is empty, absolute, has a scheme,
     *     a backslash or {@code ..}, or a total_size that is not a non-negative integer
     */
    public static ShardIndex parse(byte[] json, String indexUri) throws SafetensorsException {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw invalid(indexUri, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException | RuntimeException e) {
            throw invalid(indexUri, "not valid JSON: " + e);
        }
        if (root == null || !root.isObject()) {
            throw invalid(indexUri, "must be a JSON object with a weight_map");
        }
        OptionalLong totalSize = readTotalSize(root.get("metadata"), indexUri);
        return new ShardIndex(indexUri, readWeightMap(root.get("weight_map"), indexUri), totalSize);
    }

    /** Where the index came from. */
    public String indexUri() {
        return indexUri;
    }

    /** The distinct shard file names, relative to the index's folder, in first-appearance order. */
    public List<String> shardFiles() {
        return shardFiles;
    }

    /** Tensor name to shard file name, in index order. */
    public Map<String, String> weightMap() {
        return weightMap;
    }

    /** {@code metadata.total_size} in bytes (sum of the tensors' data sizes), if present. */
    public OptionalLong totalSize() {
        return totalSize;
    }

    /**
     * Checks the shards' headers against the index.
     *
     * @param headersByShard each shard's header, keyed by shard file name as in the index
     * @throws SafetensorsException MISSING_SHARD (a named shard has no header), MISSING_TENSOR (a
     *     listed tensor is not in its shard), TOTAL_SIZE_MISMATCH (total_size differs from the sum
     *     of the listed tensors' byte sizes)
     */
    public void validate(Map<String, SafetensorsHeader> headersByShard)
            throws SafetensorsException {
        Map<String, List<TensorInfo>> byShard = resolve(headersByShard);
        if (totalSize.isEmpty()) {
            return;
        }
        long sum = sumOfSizes(byShard);
        if (sum != totalSize.getAsLong()) {
            throw new SafetensorsException(
                    Reason.TOTAL_SIZE_MISMATCH,
                    indexUri,
                    null,
                    "metadata.total_size is "
                            + totalSize.getAsLong()
                            + " bytes but the listed tensors hold "
                            + sum
                            + " bytes");
        }
    }

    /**
     * Per shard (in {@link #shardFiles()} order), the tensors the index assigns to it, in offset
     * order. Runs {@link #validate} first.
     *
     * @throws SafetensorsException as {@link #validate}
     */
    public Map<String, List<TensorInfo>> tensorsByShard(
            Map<String, SafetensorsHeader> headersByShard) throws SafetensorsException {
        validate(headersByShard);
        return resolve(headersByShard);
    }

    /** Sum of byte sizes, or -1 if it overflows 64 bits. */
    private static long sumOfSizes(Map<String, List<TensorInfo>> byShard) {
        long sum = 0;
        try {
            for (List<TensorInfo> tensors : byShard.values()) {
                for (TensorInfo t : tensors) {
                    sum = Math.addExact(sum, t.byteSize());
                }
            }
            return sum;
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    private Map<String, List<TensorInfo>> resolve(Map<String, SafetensorsHeader> headers)
            throws SafetensorsException {
        Map<String, List<TensorInfo>> result = new LinkedHashMap<>();
        for (String shard : shardFiles) {
            SafetensorsHeader header = headers.get(shard);
            if (header == null) {
                throw new SafetensorsException(
                        Reason.MISSING_SHARD,
                        indexUri,
                        null,
                        "the index names shard '" + shard + "' but it is not there");
            }
            result.put(shard, assigned(shard, header));
        }
        return Collections.unmodifiableMap(result);
    }

    private List<TensorInfo> assigned(String shard, SafetensorsHeader header)
            throws SafetensorsException {
        Map<String, TensorInfo> present = new HashMap<>();
        for (TensorInfo t : header.tensors()) {
            present.put(t.name(), t);
        }
        List<TensorInfo> tensors = new ArrayList<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            if (!e.getValue().equals(shard)) {
                continue;
            }
            TensorInfo t = present.get(e.getKey());
            if (t == null) {
                throw new SafetensorsException(
                        Reason.MISSING_TENSOR,
                        indexUri,
                        e.getKey(),
                        "tensor '"
                                + e.getKey()
                                + "' is listed in shard '"
                                + shard
                                + "' but that shard does not hold it");
            }
            tensors.add(t);
        }
        tensors.sort(TensorLayout.OFFSET_ORDER);
        return List.copyOf(tensors);
    }

    private static Map<String, String> readWeightMap(JsonNode node, String indexUri)
            throws SafetensorsException {
        if (node == null || !node.isObject()) {
            throw invalid(indexUri, "has no weight_map object (tensor name -> shard file)");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw invalid(
                        indexUri,
                        "weight_map value of tensor '"
                                + e.getKey()
                                + "' must be a shard file name");
            }
            map.put(e.getKey(), normalizedShardName(v.asText(), indexUri));
        }
        if (map.isEmpty()) {
            // A model of no files would "stage" nothing and report success.
            throw invalid(indexUri, "weight_map is empty; it must name at least one tensor");
        }
        return map;
    }

    private static OptionalLong readTotalSize(JsonNode metadata, String indexUri)
            throws SafetensorsException {
        if (metadata == null || metadata.isNull()) {
            return OptionalLong.empty();
        }
        if (!metadata.isObject()) {
            throw invalid(indexUri, "metadata must be an object");
        }
        JsonNode total = metadata.get("total_size");
        if (total == null || total.isNull()) {
            return OptionalLong.empty();
        }
        if (!total.isNumber()
                || !total.canConvertToExactIntegral()
                || !total.canConvertToLong()
                || total.asLong() < 0) {
            throw invalid(indexUri, "metadata.total_size must be a non-negative integer of bytes");
        }
        return OptionalLong.of(total.asLong());
    }

    /**
     * The shard name with "." segments and repeated slashes removed, so {@code ./a} and {@code a}
     * name one shard.
     *
     * @throws SafetensorsException for a name that leaves the index's folder or is not a path
     */
    private static String normalizedShardName(String shard, String indexUri)
            throws SafetensorsException {
        List<String> parts = new ArrayList<>();
        for (String p : shard.split("/", -1)) {
            if (p.equals("..")) {
                throw badShardName(shard, indexUri);
            }
            if (!p.isEmpty() && !p.equals(".")) {
                parts.add(p);
            }
        }
        if (parts.isEmpty()
                || shard.startsWith("/")
                || shard.contains("\\")
                || shard.contains(":")
                || shard.indexOf('\0') >= 0) {
            throw badShardName(shard, indexUri);
        }
        return String.join("/", parts);
    }

    private static SafetensorsException badShardName(String shard, String indexUri) {
        return invalid(
                indexUri,
                "shard name '"
                        + shard
                        + "' must be a relative path inside the index's"
                        + " folder (no leading '/', scheme, backslash or '..')");
    }

    private static SafetensorsException invalid(String indexUri, String detail) {
        return new SafetensorsException(Reason.INVALID_INDEX, indexUri, null, "index " + detail);
    }
}
