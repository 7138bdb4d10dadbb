package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.storage.RangeServer;
import io.warmstage.testing.SharedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secret planted in every kind of URI (user info, a presigned S3 URL's query, a signed GCS URL's
 * query, a failing URI) appears in no output of {@code stage}: console, report, log, cache.
 */
class CredentialsITCase {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
    private static final Path LOG = Path.of("target/test-logs/warmstage.log");

    @TempDir Path tmp;
    private RangeServer origin;

    @BeforeEach
    void start() throws Exception {
        origin = new RangeServer();
        origin.handler.put("/peft.safetensors", Files.readAllBytes(PEFT));
        origin.handler.put("/cnn.safetensors", Files.readAllBytes(CNN));
        origin.handler.put("/gcs.safetensors", Files.readAllBytes(CNN));
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
    }

    @Test
    void noSecretOfAnyUriIsShownOrStored() throws Exception {
        String secret = "s3cr3t" + UUID.randomUUID().toString().replace("-", "");
        String base = origin.uri("/").toString();
        String port = base.substring("http://127.0.0.1:".length(), base.length() - 1);
        String userInfo = "http://warm:" + secret + "pw@127.0.0.1:" + port + "/peft.safetensors";
        String presigned =
                base
                        + "cnn.safetensors?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                        + "&X-Amz-Credential=AKIA"
                        + secret
                        + "%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
                        + "&X-Amz-Security-Token="
                        + secret
                        + "tok&X-Amz-Signature="
                        + secret
                        + "sig";
        String gcs =
                base
                        + "gcs.safetensors?GoogleAccessId=warm%40"
                        + secret
                        + ".iam&Expires=1&Signature="
                        + secret
                        + "gs";
        String missing = "http://warm:" + secret + "404@127.0.0.1:" + port + "/gone.safetensors";
        Path cache = tmp.resolve("cache");
        Path report = tmp.resolve("report.jsonl");
        long logBefore = Files.exists(LOG) ? Files.size(LOG) : 0;

        List<String> args = new ArrayList<>(List.of("stage", "--cache-dir", cache.toString()));
        for (String uri : List.of(userInfo, presigned, gcs, missing)) {
            args.addAll(List.of("--model", uri));
        }
        args.addAll(List.of("--report", report.toString()));
        Run run = cli(args.toArray(new String[0]));

        assertThat(run.code()).as(run.out() + run.err()).isEqualTo(1); // the 404 fails alone
        assertThat(run.out()).contains("files     3 staged, 1 failed");
        assertThat(run.out()).contains("FAILED http://127.0.0.1:" + port + "/gone.safetensors");
        assertThat(run.out() + run.err()).doesNotContain(secret);
        String reportText = Files.readString(report);
        assertThat(reportText).contains("X-Amz-Signature=REDACTED").doesNotContain(secret);
        assertThat(tail(LOG, logBefore)).doesNotContain(secret);
        try (Stream<Path> files = Files.walk(cache)) {
            List<Path> all = files.toList();
            assertThat(all.stream().filter(p -> p.toString().endsWith(".entry.json"))).hasSize(3);
            for (Path p : all) {
                assertThat(p.toString()).doesNotContain(secret);
                if (Files.isRegularFile(p) && p.toString().endsWith(".json")) {
                    assertThat(Files.readString(p)).as(p.toString()).doesNotContain(secret);
                }
            }
        }
        // A re-signed URL of the same object (another signature) finds the cached copy.
        Run again = cli("stage", "--cache-dir", cache.toString(), "--model", presigned + "2");
        assertThat(again.out()).contains("1 hits, 0 misses").doesNotContain(secret);
    }

    private static String tail(Path log, long from) throws Exception {
        if (!Files.exists(log)) {
            return "";
        }
        byte[] all = Files.readAllBytes(log);
        return new String(
                all,
                (int) Math.min(from, all.length),
                (int) Math.max(0, all.length - from),
                StandardCharsets.UTF_8);
    }
}
