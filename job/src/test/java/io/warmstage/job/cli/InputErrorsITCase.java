package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.testing.S3Proxy;
import io.warmstage.testing.SharedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Input errors a new user makes: one clear line, the right exit status, before any cluster. */
@ExtendWith(S3Proxy.class)
class InputErrorsITCase {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path tmp;

    @Test
    void anUnsupportedSchemeIsAUsageErrorBeforeAnyClusterStarts() throws Exception {
        Run run = cli("stage", "--model", "ftp://user:pw@example.com/m.safetensors");
        assertOneLineUsageError(run, "unsupported scheme 'ftp'");
        assertThat(run.err()).doesNotContain("pw@");

        Path manifest = tmp.resolve("m.yaml");
        Files.writeString(manifest, "models:\n  - uri: ftp://example.com/m.safetensors\n");
        assertOneLineUsageError(
                cli("stage", "--manifest", manifest.toString()), "unsupported scheme 'ftp'");
    }

    @Test
    void aReportPathUnderARegularFileIsAUsageErrorNamingTheFile() throws Exception {
        Path aFile = Files.writeString(tmp.resolve("a-file"), "x");
        Run run =
                cli(
                        "stage",
                        "--model",
                        PEFT.toString(),
                        "--report",
                        aFile.resolve("sub/report.jsonl").toString());
        assertOneLineUsageError(run, aFile + " is a file, not a directory");
    }

    @Test
    void aManifestThatIsNotAMappingIsOneClearLine() throws Exception {
        Path list = Files.writeString(tmp.resolve("list.yaml"), "- uri: a.safetensors\n");
        assertOneLineUsageError(
                cli("stage", "--manifest", list.toString()),
                "list.yaml: not a YAML mapping (it is a list)");
        Path scalar = Files.writeString(tmp.resolve("scalar.yaml"), "hello\n");
        assertOneLineUsageError(
                cli("stage", "--manifest", scalar.toString()),
                "scalar.yaml: not a YAML mapping (it is a string)");
        Path broken = Files.writeString(tmp.resolve("broken.yaml"), "models: [\n");
        Run run = cli("stage", "--manifest", broken.toString());
        assertOneLineUsageError(run, "broken.yaml: not valid YAML");
    }

    /** In its own JVM as the launcher runs it: the AWS SDK's class loading happens there. */
    @Test
    void anS3NotFoundIsOneLineWithoutTheSdksDeprecationStackTrace() throws Exception {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-Xmx1g",
                                "-Dlog4j.configurationFile="
                                        + Path.of("../conf/log4j2-cli.properties").toAbsolutePath(),
                                "-Dwarmstage.log.file=" + tmp.resolve("warmstage.log"),
                                "-cp",
                                System.getProperty("java.class.path"),
                                WarmstageCli.class.getName(),
                                "stage",
                                "--model",
                                S3Proxy.uri("missing/model.safetensors").toString()));
        S3Proxy.config().toMap().forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        Path out = tmp.resolve("console.txt");
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(out.toFile())
                        .start();
        assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("the CLI exits").isTrue();
        String console = Files.readString(out, StandardCharsets.UTF_8);

        assertThat(p.exitValue()).as(console).isEqualTo(1);
        assertThat(console)
                .contains("FAILED s3://models/missing/model.safetensors")
                .contains("not found (404)")
                .doesNotContain("AWS SDK for Java 1.x")
                .doesNotContain("\tat ")
                .doesNotContain("at com.amazonaws");
    }

    private static void assertOneLineUsageError(Run run, String message) {
        assertThat(run.code()).as(run.out() + run.err()).isEqualTo(2);
        assertThat(run.err().lines().findFirst().orElse("")).contains(message);
        assertThat(run.err()).doesNotContain("\tat ").doesNotContain("Exception");
        assertThat(run.out()).doesNotContain("Flink Web UI");
    }
}
