package io.warmstage.format;

import static io.warmstage.format.SafetensorsBytes.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.warmstage.format.SafetensorsException.Reason;
import io.warmstage.testing.SharedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The index of a sharded checkpoint, against the real FluxML set and folders built in tests. */
class ShardIndexTest {
    private static final String INDEX = "model.safetensors.index.json";

    @TempDir Path dir;

    @Test
    void realShardedSetParsesAndValidates() throws Exception {
        Path folder = SharedData.sharded();
        ShardIndex index = readIndex(folder);

        assertThat(index.shardFiles())
                .containsExactly(
                        "model-00001-of-00006.safetensors",
                        "model-00002-of-00006.safetensors",
                        "model-00003-of-00006.safetensors",
                        "model-00004-of-00006.safetensors",
                        "model-00005-of-00006.safetensors",
                        "model-00006-of-00006.safetensors");
        assertThat(index.weightMap()).hasSize(36);
        assertThat(index.totalSize()).hasValue(4305);

        Map<String, SafetensorsHeader> headers = loadShards(folder, index);
        index.validate(headers);
        Map<String, List<TensorInfo>> byShard = index.tensorsByShard(headers);
        assertThat(byShard.values().stream().map(List::size)).containsExactly(19, 1, 2, 4, 7, 3);
        assertThat(byShard.get("model-00002-of-00006.safetensors"))
                .extracting(TensorInfo::name)
                .containsExactly("float32_357");
    }

    @Test
    void missingShardIsNamed() throws Exception {
        copyRealSetWithout("model-00003-of-00006.safetensors");
        ShardIndex index = readIndex(dir);

        SafetensorsException e = fails(() -> index.validate(loadShards(dir, index)));

        assertThat(e.reason()).isEqualTo(Reason.MISSING_SHARD);
        assertThat(e.file()).isEqualTo(dir.resolve(INDEX).toString());
        assertThat(e.getMessage()).contains("'model-00003-of-00006.safetensors'");
    }

    @Test
    void totalSizeMismatchGivesBothNumbers() throws Exception {
        copyRealSetWithout(INDEX);
        String json =
                Files.readString(SharedData.sharded().resolve(INDEX))
                        .replace("\"total_size\": 4305", "\"total_size\": 4306");
        Files.writeString(dir.resolve(INDEX), json);
        ShardIndex index = readIndex(dir);

        SafetensorsException e = fails(() -> index.validate(loadShards(dir, index)));

        assertThat(e.reason()).isEqualTo(Reason.TOTAL_SIZE_MISMATCH);
        assertThat(e.getMessage()).contains("4306").contains("4305");
    }

    @Test
    void tensorMissingFromItsShardIsNamed() throws Exception {
        writeShard("s1.safetensors", entry("a", "U8", "[2]", 0, 2), 2);
        writeIndex("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}");
        ShardIndex index = readIndex(dir);

        SafetensorsException e = fails(() -> index.validate(loadShards(dir, index)));

        assertThat(e.reason()).isEqualTo(Reason.MISSING_TENSOR);
        assertThat(e.tensor()).isEqualTo("b");
        assertThat(e.getMessage()).contains("'b'").contains("'s1.safetensors'");
    }

    @Test
    void tensorInTwoShardsIsTakenFromTheNamedShard() throws Exception {
        writeShard(
                "s1.safetensors",
                entry("a", "U8", "[2]", 0, 2) + "," + entry("b", "U8", "[4]", 2, 6),
                6);
        writeShard(
                "s2.safetensors",
                entry("c", "F32", "[1]", 0, 4) + "," + entry("b", "U8", "[4]", 4, 8),
                8);
        writeShard("unlisted.safetensors", entry("z", "U8", "[1]", 0, 1), 1);
        writeIndex(
                "{\"metadata\":{\"total_size\":10},\"weight_map\":"
                        + "{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\",\"c\":\"s2.safetensors\"}}");
        ShardIndex index = readIndex(dir);

        Map<String, List<TensorInfo>> byShard = index.tensorsByShard(loadShards(dir, index));

        assertThat(index.shardFiles()).containsExactly("s1.safetensors", "s2.safetensors");
        assertThat(byShard.get("s1.safetensors")).extracting(TensorInfo::name).containsExactly("a");
        assertThat(byShard.get("s2.safetensors"))
                .containsExactly(
                        new TensorInfo("c", Dtype.F32, new long[] {1}, 0, 4),
                        new TensorInfo("b", Dtype.U8, new long[] {4}, 4, 8));
    }

    @Test
    void emptyMetadataHasNoTotalSize() throws Exception {
        ShardIndex index =
                ShardIndex.parse(
                        bytes("{\"metadata\":{},\"weight_map\":{\"a\":\"s.safetensors\"}}"), "i");

        assertThat(index.totalSize()).isEmpty();
        assertThat(index.weightMap()).isEqualTo(Map.of("a", "s.safetensors"));
    }

    @Test
    void shardInASubfolderIsAllowed() throws Exception {
        ShardIndex index =
                ShardIndex.parse(bytes("{\"weight_map\":{\"a\":\"part/s.safetensors\"}}"), "i");

        assertThat(index.shardFiles()).containsExactly("part/s.safetensors");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "not json",
                "[]",
                "{\"metadata\":{\"total_size\":1}}",
                "{\"weight_map\":[]}",
                "{\"weight_map\":{\"a\":1}}",
                "{\"weight_map\":{\"a\":\"/etc/passwd\"}}",
                "{\"weight_map\":{\"a\":\"../x.safetensors\"}}",
                "{\"weight_map\":{\"a\":\"sub/../../x.safetensors\"}}",
                "{\"weight_map\":{\"a\":\"sub\\\\x.safetensors\"}}",
                "{\"weight_map\":{\"a\":\"s3://bucket/x.safetensors\"}}",
                "{\"weight_map\":{\"a\":\"\"}}",
                "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}",
                "{\"metadata\":{\"total_size\":-1},\"weight_map\":{}}",
                "{\"metadata\":{\"total_size\":\"4305\"},\"weight_map\":{}}",
                "{\"weight_map\":{}}"
            })
    void invalidIndexIsRejected(String json) {
        SafetensorsException e = fails(() -> ShardIndex.parse(bytes(json), "idx.json"));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_INDEX);
        assertThat(e.file()).isEqualTo("idx.json");
        assertThat(e.getMessage()).startsWith("idx.json: index ");
    }

    @Test
    void emptyWeightMapIsRejectedNotAModelOfNoFiles() {
        String json = "{\"metadata\":{\"total_size\":0},\"weight_map\":{}}";

        SafetensorsException e = fails(() -> ShardIndex.parse(bytes(json), "idx.json"));

        assertThat(e.reason()).isEqualTo(Reason.INVALID_INDEX);
        assertThat(e.getMessage())
                .isEqualTo("idx.json: index weight_map is empty; it must name at least one tensor");
    }

    private static ShardIndex readIndex(Path folder) throws Exception {
        Path index = folder.resolve(INDEX);
        return ShardIndex.parse(Files.readAllBytes(index), index.toString());
    }

    /** Reads the header of every shard the index names that exists in {@code folder}. */
    private static Map<String, SafetensorsHeader> loadShards(Path folder, ShardIndex index)
            throws Exception {
        Map<String, SafetensorsHeader> headers = new LinkedHashMap<>();
        for (String shard : index.shardFiles()) {
            Path f = folder.resolve(shard);
            if (Files.exists(f)) {
                headers.put(shard, HeaderParser.read(f));
            }
        }
        return headers;
    }

    private void copyRealSetWithout(String skipped) throws Exception {
        try (var files = Files.list(SharedData.sharded())) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals(skipped)) {
                    Files.copy(f, dir.resolve(f.getFileName().toString()));
                }
            }
        }
    }

    private void writeShard(String name, String entries, int dataSize) throws Exception {
        Files.write(dir.resolve(name), SafetensorsBytes.file("{" + entries + "}", dataSize));
    }

    private void writeIndex(String json) throws Exception {
        Files.writeString(dir.resolve(INDEX), json);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private interface Call {
        void run() throws Exception;
    }

    private static SafetensorsException fails(Call c) {
        SafetensorsException e = catchThrowableOfType(SafetensorsException.class, c::run);
        assertThat(e).as("expected a SafetensorsException").isNotNull();
        return e;
    }

    @org.junit.jupiter.api.Test
    void dotSegmentsAndRepeatedSlashesNameTheSameShard() throws Exception {
        ShardIndex index =
                ShardIndex.parse(
                        ("{\"weight_map\":{\"a\":\"./s.safetensors\",\"b\":\"s.safetensors\","
                                        + "\"c\":\"sub//./t.safetensors\",\"d\":\"model..v2.safetensors\"}}")
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        "file:///m/model.safetensors.index.json");
        org.assertj.core.api.Assertions.assertThat(index.shardFiles())
                .containsExactly("s.safetensors", "sub/t.safetensors", "model..v2.safetensors");
    }
}
