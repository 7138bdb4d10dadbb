package io.warmstage.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code warmstage} CLI end to end: exit codes, report lines, one-line failures. */
class StageCommandITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path tmp;

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int code = WarmstageCli.execute(args);
            return new Run(
                    code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static List<JsonNode> report(Path file) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    @Test
    void keepStagedLeavesTheFileListedInTheStagedSetForAnotherProcess() throws Exception {
        Path staging = tmp.resolve("staging");
        try {
            Run run =
                    cli(
                            "stage",
                            "--model",
                            PEFT.toString(),
                            "--device",
                            "cpu",
                            "--keep-staged",
                            "-Dwarmstage.staging.dir=" + staging);
            assertThat(run.code()).as(run.out() + run.err()).isZero();
            var entries = io.warmstage.registry.StagedSet.at(staging).entries();
            assertThat(entries).hasSize(1);
            assertThat(entries.get(0).uri()).isEqualTo("file:" + PEFT.toUri().getRawPath());
            assertThat(Files.readAllBytes(Path.of(entries.get(0).file())))
                    .isEqualTo(Files.readAllBytes(PEFT));
        } finally {
            io.warmstage.staging.ResidentSet.releaseAll();
        }
        assertThat(io.warmstage.registry.StagedSet.at(staging).entries()).isEmpty();
    }

    @Test
    void aBadModelFailsAloneWithExitOneAndTheGoodOnesReportTheOriginsChecksums() throws Exception {
        Path lfs =
                SharedData.malformed()
                        .resolve(
                                "YouZiSoftware_lzlv_70b_fp16_hf__model-00001-of-00015.safetensors");
        Path report = tmp.resolve("report.jsonl");
        Run run =
                cli(
                        "stage",
                        "--model",
                        PEFT.toString(),
                        "--model",
                        lfs.toString(),
                        "--cache-dir",
                        tmp.resolve("cache").toString(),
                        "--report",
                        report.toString());

        assertThat(run.code()).as(run.out() + run.err()).isEqualTo(1);
        assertThat(run.out() + run.err()).doesNotContain("\tat ").doesNotContain("Exception");
        assertThat(run.out()).contains("Summary").contains("FAILED " + lfs.toUri());

        List<JsonNode> lines = report(report);
        Map<String, String> crcs = new HashMap<>();
        for (JsonNode n : lines) {
            if (n.get("event").asText().equals("tensor")) {
                assertThat(n.get("crc32c").asText()).matches("[0-9a-f]{8}");
                assertThat(n.get("shape").isArray()).isTrue();
                crcs.put(n.get("tensor").asText(), n.get("crc32c").asText());
            }
        }
        assertThat(crcs).isEqualTo(ReferenceReader.crcs(PEFT));
        JsonNode bad =
                lines.stream()
                        .filter(n -> n.get("event").asText().equals("file"))
                        .filter(n -> n.get("status").asText().equals("failed"))
                        .findFirst()
                        .orElseThrow();
        assertThat(bad.get("reason").asText()).contains("Git LFS pointer");
        assertThat(bad.get("cache").asText()).isEqualTo("miss");
        JsonNode good =
                lines.stream()
                        .filter(n -> n.get("event").asText().equals("file"))
                        .filter(n -> n.get("status").asText().equals("staged"))
                        .findFirst()
                        .orElseThrow();
        assertThat(good.get("bytes").asLong()).isEqualTo(Files.size(PEFT));
        assertThat(good.get("tensors").asInt()).isEqualTo(25);
        assertThat(lines.stream().filter(n -> n.get("event").asText().equals("model")))
                .allSatisfy(n -> assertThat(n.has("seconds")).isTrue());
    }

    @Test
    void aManifestStagesItsModelsRelativeToItselfWithExitZeroAndASecondRunHitsTheCache()
            throws Exception {
        Path manifest = tmp.resolve("m.yaml");
        Path rel = tmp.relativize(SharedData.sharded().resolve("model.safetensors.index.json"));
        Files.writeString(
                manifest,
                "device: cpu\ncacheDir: "
                        + tmp.resolve("cache")
                        + "\nmodels:\n"
                        + "  - name: sharded\n    uri: "
                        + rel
                        + "\n");
        Run first = cli("stage", "--manifest", manifest.toString());
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        assertThat(first.out())
                .contains("files     6 staged, 0 failed")
                .contains("0 hits, 6 misses");

        Run second = cli("stage", "--manifest", manifest.toString());
        assertThat(second.code()).isZero();
        assertThat(second.out()).contains("6 hits, 0 misses");
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        assertThat(cli("stage").code()).isEqualTo(2);
        assertThat(cli("stage", "--model", PEFT.toString(), "--device", "gpu").code()).isEqualTo(2);
        assertThat(cli("stage", "--model", PEFT.toString(), "--parallelism", "0").code())
                .isEqualTo(2);
        assertThat(cli("frobnicate").code()).isEqualTo(2);
        assertThat(cli("stage", "--model", PEFT.toString(), "--parallelism", "129").code())
                .isEqualTo(2);
        Run twice = cli("stage", "--model", PEFT.toString(), "--model", PEFT.toString());
        assertThat(twice.code()).isEqualTo(2);
        assertThat(twice.err()).contains("listed twice");
        Path manifest = tmp.resolve("bad.yaml");
        Files.writeString(manifest, "models:\n  - uri: x\n    shard: 3\n");
        Run bad = cli("stage", "--manifest", manifest.toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("bad.yaml").contains("shard").doesNotContain("\tat ");
    }

    @Test
    void cudaOnAHostWithoutADriverFailsAtStartUpWithOneLine() {
        org.junit.jupiter.api.Assumptions.assumeFalse(
                io.warmstage.device.Devices.cudaAvailability().available(), "a GPU is present");
        Run run = cli("stage", "--model", PEFT.toString(), "--device", "cuda");
        assertThat(run.code()).isEqualTo(1);
        assertThat(run.err().strip().lines()).singleElement().asString().contains("cuda");
        assertThat(run.out()).doesNotContain("Summary");
    }

    @Test
    void badOptionsAndPathsAreOneLineUsageErrorsBeforeAnyClusterStarts() throws Exception {
        Path aFile = Files.writeString(tmp.resolve("a-file"), "x");
        Path aDir = Files.createDirectories(tmp.resolve("a-dir"));
        String model = PEFT.toString();
        // each bad setting, and what its one-line error must name
        Map<String[], String> cases = new java.util.LinkedHashMap<>();
        for (String option :
                List.of(
                        "warmstage.source.reads-in-flight=0",
                        "warmstage.source.split-size=0",
                        "warmstage.source.split-size=abc",
                        "warmstage.source.record-size=0",
                        "warmstage.storage.retry.max-attempts=0",
                        "warmstage.staging.verify=maybe",
                        "warmstage.staging.gpu-ordinals=a,b",
                        "warmstage.storage.http.stall-timeout=0s",
                        "warmstage.storage.retry.budget-per-file=0s")) {
            String key = option.substring(0, option.indexOf('='));
            cases.put(new String[] {"-D" + option}, key);
        }
        cases.put(new String[] {"-Dwarmstage.staging.device=tpu"}, "tpu");
        cases.put(new String[] {"--cache-dir", aFile.toString()}, aFile.toString());
        cases.put(new String[] {"--report", aDir.toString()}, aDir.toString());
        for (Map.Entry<String[], String> c : cases.entrySet()) {
            List<String> args = new ArrayList<>(List.of("stage", "--model", model));
            args.addAll(List.of(c.getKey()));
            Run run = cli(args.toArray(new String[0]));
            String what = String.join(" ", c.getKey());
            assertThat(run.code()).as(what + ": " + run.err()).isEqualTo(2);
            assertThat(run.err().lines().findFirst().orElse(""))
                    .as(what)
                    .contains(c.getValue())
                    .doesNotContain("Exception");
            assertThat(run.out()).doesNotContain("Flink Web UI");
        }
        Run blank = cli("stage", "--model", "");
        assertThat(blank.code()).isEqualTo(2);
        assertThat(blank.err()).contains("empty model URI");
    }

    @Test
    void anIndexAndOneOfItsShardsAsTwoModelsBothStage() throws Exception {
        Path index = SharedData.sharded().resolve("model.safetensors.index.json");
        Path shard = SharedData.sharded().resolve("model-00002-of-00006.safetensors");
        Path report = tmp.resolve("r.jsonl");
        Run run =
                cli(
                        "stage",
                        "--model",
                        index.toString(),
                        "--model",
                        shard.toString(),
                        "--cache-dir",
                        tmp.resolve("cache").toString(),
                        "--report",
                        report.toString());
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        assertThat(run.out())
                .contains("models    2 staged, 0 failed")
                .contains("files     7 staged");
        Map<String, String> crcs = new HashMap<>();
        for (JsonNode n : report(report)) {
            if (n.get("event").asText().equals("tensor")
                    && n.get("file").asText().endsWith("00002-of-00006.safetensors")) {
                String prev =
                        crcs.put(
                                n.get("model").asText() + "/" + n.get("tensor").asText(),
                                n.get("crc32c").asText());
                assertThat(prev).isNull();
            }
        }
        assertThat(crcs).hasSize(2); // the one tensor of shard 2, once per model
        assertThat(crcs.values().stream().distinct()).hasSize(1);
    }
}
