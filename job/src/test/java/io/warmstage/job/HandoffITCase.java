package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.ModelSpec;
import io.warmstage.registry.StagedSet;
import io.warmstage.staging.ResidentSet;
import io.warmstage.staging.StagingEvent;
import io.warmstage.staging.StagingOptions;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-off: the job stages a sharded model from an HTTP origin into shared-memory staging
 * files, keeping them resident; then a separate Python process, a model server's stand-in, loads
 * every shard with {@code warmstage.load_file}, and every tensor's bytes have the origin's CRC-32C
 * while the origin serves nothing. Releasing the files withdraws them from the staged set.
 */
class HandoffITCase {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path modelDir;
    @TempDir Path stagingDir;

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @Test
    void aSeparatePythonProcessLoadsTheStagedModelWithoutTouchingTheOrigin() throws Exception {
        Path python = python();
        Path index =
                DemoModel.write(modelDir, new DemoModel.Dims(512, 128, 352, 2, 4, 2), 512 << 10);
        List<Path> shards;
        try (Stream<Path> files = Files.list(modelDir)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertThat(shards).hasSizeGreaterThan(1);
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir);
                EmbeddedRunner runner = EmbeddedRunner.start(1, 1, new Configuration())) {
            Configuration conf = new Configuration();
            conf.set(StagingOptions.DEVICE, "cpu");
            conf.set(StagingOptions.KEEP_RESIDENT, true);
            conf.set(StagingOptions.STAGING_DIR, stagingDir.toString());
            var events = new ConcurrentLinkedQueue<StagingEvent>();
            String indexUri = origin.uri(modelDir.relativize(index).toString()).toString();
            runner.run(List.of(new ModelSpec("demo", indexUri)), conf, 1, events::add);
            assertThat(events)
                    .filteredOn(e -> StagingEvent.MODEL.equals(e.event))
                    .singleElement()
                    .satisfies(e -> assertThat(e.status).isEqualTo("staged"));

            List<String> uris = new ArrayList<>();
            for (Path shard : shards) {
                uris.add(origin.uri(modelDir.relativize(shard).toString()).toString());
            }
            long requests = origin.requests();
            long served = origin.bytesServed();
            Map<String, Map<String, String>> loaded = consume(python, uris);
            assertThat(origin.requests())
                    .as("requests to the origin during the load")
                    .isEqualTo(requests);
            assertThat(origin.bytesServed()).isEqualTo(served);
            for (int i = 0; i < shards.size(); i++) {
                assertThat(loaded.get(uris.get(i)))
                        .as("tensors of %s loaded by python", shards.get(i).getFileName())
                        .isEqualTo(reference(shards.get(i)));
            }

            ResidentSet.releaseAll(); // withdrawn from the staged set, then freed
            assertThat(StagedSet.at(stagingDir).entries()).isEmpty();
        }
    }

    /** Runs the consumer process; returns tensor CRC-32C values by URI. */
    private Map<String, Map<String, String>> consume(Path python, List<String> uris)
            throws Exception {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                python.toString(),
                                repo.resolve("python/tests/consume_staged.py").toString(),
                                "--staging-dir",
                                stagingDir.toString()));
        cmd.addAll(uris);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        Map<String, Map<String, String>> byUri = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("{")) {
                JsonNode n = JSON.readTree(line);
                Map<String, String> crcs = new TreeMap<>();
                n.get("tensors")
                        .fields()
                        .forEachRemaining(f -> crcs.put(f.getKey(), f.getValue().asText()));
                byUri.put(n.get("uri").asText(), crcs);
                System.out.println(
                        "python loaded " + n.get("uri").asText() + " as " + n.get("kinds"));
            }
        }
        return byUri;
    }

    private static Map<String, String> reference(Path shard) throws Exception {
        byte[] bytes = Files.readAllBytes(shard);
        SafetensorsHeader h = HeaderParser.read(shard);
        Map<String, String> out = new TreeMap<>();
        for (TensorInfo t : h.tensors()) {
            CRC32C crc = new CRC32C();
            crc.update(bytes, (int) (h.dataStart() + t.begin()), (int) t.byteSize());
            out.put(t.name(), StagingEvent.hex((int) crc.getValue()));
        }
        return out;
    }

    /** Debian's python3 (with numpy and torch, as scripts/prerequisites.sh installs), else any. */
    private static Path python() {
        for (String p : new String[] {"/usr/bin/python3", "/usr/local/bin/python3"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        Assumptions.abort("no python3 on this host");
        return null;
    }
}
