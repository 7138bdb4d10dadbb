package io.warmstage.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.storage.ObjectStores;
import io.warmstage.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPlannerTest {
    @TempDir Path dir;

    /** A file of U8 tensors, one byte each, in the given order. */
    static void writeU8(Path file, String... names) throws Exception {
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            json.append(i == 0 ? "" : ",")
                    .append('"')
                    .append(names[i])
                    .append("\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[")
                    .append(i)
                    .append(',')
                    .append(i + 1)
                    .append("]}");
        }
        byte[] header = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(
                ByteBuffer.allocate(8)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(header.length)
                        .array());
        out.write(header);
        for (int i = 0; i < names.length; i++) {
            out.write(i + 1);
        }
        Files.write(file, out.toByteArray());
    }

    private List<FilePlan> plan(Path index) throws Exception {
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            return new ModelPlanner(stores, stores.retryPolicy(), null, 64)
                    .plan(new ModelSpec("m", index.toString()));
        }
    }

    @Test
    void anExpectedVersionMustMatchTheOriginsAndTheFingerprintFollowsIt() throws Exception {
        Path file = dir.resolve("a.safetensors");
        writeU8(file, "x");
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            ModelPlanner planner = new ModelPlanner(stores, stores.retryPolicy(), null, 64);
            List<FilePlan> any = planner.plan(new ModelSpec("m", file.toString()));
            String actual = any.get(0).version().etag();
            assertThat(any.get(0).error()).isNull();
            assertThat(planner.fingerprint(new ModelSpec("m", file.toString())))
                    .isEqualTo(ModelPlanner.fingerprint(any));

            ModelSpec pinned = new ModelSpec("m", file.toString(), Placement.ALL, actual);
            assertThat(planner.plan(pinned).get(0).error()).isNull();
            ModelSpec other = new ModelSpec("m", file.toString(), Placement.ALL, "v0");
            assertThat(planner.plan(other).get(0).error())
                    .contains("a.safetensors")
                    .contains("version " + actual + " at the origin, the manifest expects v0");

            Files.setLastModifiedTime(
                    file,
                    java.nio.file.attribute.FileTime.fromMillis(
                            Files.getLastModifiedTime(file).toMillis() + 5_000));
            assertThat(planner.fingerprint(new ModelSpec("m", file.toString())))
                    .isNotEqualTo(ModelPlanner.fingerprint(any));
        }
    }

    @Test
    void aTensorInTwoShardsIsReportedOnlyFromTheShardTheIndexNames() throws Exception {
        writeU8(dir.resolve("a.safetensors"), "x", "w");
        writeU8(dir.resolve("b.safetensors"), "w", "y");
        writeU8(dir.resolve("unlisted.safetensors"), "z");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(
                index,
                "{\"metadata\":{\"total_size\":3},\"weight_map\":"
                        + "{\"x\":\"a.safetensors\",\"w\":\"b.safetensors\",\"y\":\"b.safetensors\"}}");

        List<FilePlan> plans = plan(index);

        assertThat(plans).extracting(FilePlan::error).containsOnlyNulls();
        assertThat(plans)
                .extracting(p -> Path.of(java.net.URI.create(p.uri())).getFileName().toString())
                .containsExactly("a.safetensors", "b.safetensors");
        assertThat(plans.get(0).skipTensors()).containsExactly("w");
        assertThat(plans.get(1).skipTensors()).isEmpty();
        assertThat(plans).allMatch(p -> p.modelFiles() == 2);
        assertThat(plans.get(0).uri()).startsWith("file:///");
    }

    @Test
    void aShardThatLacksAListedTensorFailsEveryFileOfTheModelNamingBoth() throws Exception {
        writeU8(dir.resolve("a.safetensors"), "x");
        writeU8(dir.resolve("b.safetensors"), "y");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(
                index, "{\"weight_map\":{\"x\":\"a.safetensors\",\"q\":\"b.safetensors\"}}");

        List<FilePlan> plans = plan(index);

        assertThat(plans).hasSize(2).allMatch(FilePlan::isFailure);
        assertThat(plans)
                .allSatisfy(p -> assertThat(p.error()).contains("'q'").contains("b.safetensors"));
    }

    @Test
    void aMissingShardFailsTheModelBeforeAnyTensorIsFetched() throws Exception {
        writeU8(dir.resolve("a.safetensors"), "x");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(
                index, "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"gone.safetensors\"}}");

        List<FilePlan> plans = plan(index);

        assertThat(plans).allMatch(FilePlan::isFailure);
        assertThat(plans.get(1).error()).contains("gone.safetensors");
        assertThat(plans.get(0).error()).contains("model 'm' failed").contains("gone.safetensors");
    }

    @Test
    void theRealShardedCheckpointPlansSixShardsWithNothingSkipped() throws Exception {
        List<FilePlan> plans = plan(SharedData.sharded().resolve("model.safetensors.index.json"));
        assertThat(plans).hasSize(6).allMatch(p -> !p.isFailure() && p.skipTensors().isEmpty());
        long tensors = plans.stream().mapToLong(p -> p.header().tensors().size()).sum();
        assertThat(tensors).isEqualTo(36);
    }
}
