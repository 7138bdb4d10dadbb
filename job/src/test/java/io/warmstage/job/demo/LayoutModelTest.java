package io.warmstage.job.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.storage.ObjectStores;
import io.warmstage.testing.SharedData;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayoutModelTest {
    @TempDir Path dir;

    @Test
    void writesTheLayoutsNamesDtypesAndShardsWithScaledFirstDimensions() throws Exception {
        Path layout = SharedData.root().resolve("layouts/qwen2-7b-instruct.json");
        Path index = LayoutModel.write(layout, 512, dir);
        JsonNode root = new ObjectMapper().readTree(layout.toFile());
        for (JsonNode shard : root.get("shards")) {
            SafetensorsHeader h = HeaderParser.read(dir.resolve(shard.get("file").asText()));
            assertThat(h.tensors()).hasSize(shard.get("tensors").size());
            for (JsonNode t : shard.get("tensors")) {
                TensorInfo got = h.tensor(t.get("name").asText());
                assertThat(got).as(t.get("name").asText()).isNotNull();
                assertThat(got.dtype().name()).isEqualTo(t.get("dtype").asText());
                long first = t.get("shape").get(0).asLong();
                assertThat(got.shape()[0]).isEqualTo((first + 511) / 512);
            }
        }
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            List<FilePlan> plans =
                    new ModelPlanner(stores, stores.retryPolicy(), null, 65536)
                            .plan(new ModelSpec("qwen", index.toString()));
            assertThat(plans).hasSize(root.get("shards").size()).noneMatch(FilePlan::isFailure);
        }
    }
}
