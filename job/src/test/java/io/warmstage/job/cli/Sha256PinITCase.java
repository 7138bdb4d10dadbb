package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static io.warmstage.job.cli.StageCommandITCase.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.Manifest;
import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.storage.RangeServer;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files pinned by SHA-256 in the manifest: staged bytes are checked against the pin, and the cache
 * keyed by it is trusted even for an origin that gives no version token, and shared between URIs.
 */
class Sha256PinITCase {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @TempDir Path tmp;
    private RangeServer origin;
    private byte[] bytes;
    private String sha;

    @BeforeEach
    void start() throws Exception {
        origin = new RangeServer();
        origin.handler.noValidators = true; // no ETag, no Last-Modified
        bytes = Files.readAllBytes(CNN);
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        origin.handler.put("/a/cnn.safetensors", bytes);
        origin.handler.put("/b/cnn.safetensors", bytes);
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
    }

    @Test
    void aPinnedFileFromAnOriginWithoutVersionsIsCheckedCachedAndSharedBetweenUris()
            throws Exception {
        Path cache = tmp.resolve("cache");
        Run first = stage(manifest("a", sha.toUpperCase(java.util.Locale.ROOT), cache), "r1");
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        assertThat(first.out()).contains("0 hits, 1 misses").doesNotContain("not cached");
        try (Stream<Path> s = Files.list(cache)) {
            assertThat(s.filter(p -> p.toString().endsWith(".entry.json"))).hasSize(1);
        }

        Path report = tmp.resolve("r2.jsonl");
        Run second = stage(manifest("b", sha, cache), "r2"); // another URI, the same bytes
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        assertThat(second.out()).contains("1 hits, 0 misses");
        assertThat(crcs(report)).isEqualTo(ReferenceReader.crcs(CNN));
    }

    @Test
    void stagedBytesThatDoNotHashToThePinFailTheFileAndAreNotCached() throws Exception {
        String wrong = sha.substring(1) + (sha.charAt(0) == '0' ? "1" : "0");
        Path cache = tmp.resolve("cache");
        Run run = stage(manifest("a", wrong, cache), "r1");

        assertThat(run.code()).as(run.out() + run.err()).isEqualTo(1);
        assertThat(run.out())
                .contains("FAILED " + origin.uri("/a/cnn.safetensors"))
                .contains("SHA-256 " + sha + " of the staged bytes differs")
                .contains(wrong);
        try (Stream<Path> s = Files.list(cache)) {
            assertThat(s.filter(p -> p.toString().endsWith(".entry.json"))).isEmpty();
        }
        // no tensor of the rejected file is reported: its tensor events wait for the pin's check
        assertThat(crcs(tmp.resolve("r1.jsonl"))).isEmpty();
    }

    @Test
    void aManifestWithoutPinsStillReadsAndABadPinIsOneLine() throws Exception {
        Path old = Files.writeString(tmp.resolve("old.yaml"), "models:\n  - uri: x.safetensors\n");
        assertThat(Manifest.read(old).pins()).isEmpty();
        Path bad =
                Files.writeString(
                        tmp.resolve("bad.yaml"),
                        "models:\n  - uri: x.safetensors\n    sha256: abc\n");
        Run run = cli("stage", "--manifest", bad.toString());
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains("bad.yaml").contains("models[0].sha256").contains("64 hex");
        Path index =
                Files.writeString(
                        tmp.resolve("index.yaml"),
                        "models:\n  - uri: https://h/m/model.safetensors.index.json\n"
                                + "    sha256: {model-00001-of-00002.safetensors: "
                                + sha
                                + "}\n");
        assertThat(Manifest.read(index).pins())
                .containsExactly(Map.entry("https://h/m/model-00001-of-00002.safetensors", sha));
    }

    private Path manifest(String dir, String pin, Path cache) throws Exception {
        return Files.writeString(
                tmp.resolve(dir + ".yaml"),
                "cacheDir: "
                        + cache
                        + "\nmodels:\n  - uri: "
                        + origin.uri("/" + dir + "/cnn.safetensors")
                        + "\n    sha256: "
                        + pin
                        + "\n");
    }

    private Run stage(Path manifest, String report) {
        return cli(
                "stage",
                "--manifest",
                manifest.toString(),
                "--report",
                tmp.resolve(report + ".jsonl").toString());
    }

    private static Map<String, String> crcs(Path report) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (JsonNode n : report(report)) {
            if (n.get("event").asText().equals("tensor")) {
                out.put(n.get("tensor").asText(), n.get("crc32c").asText());
            }
        }
        return out;
    }
}
