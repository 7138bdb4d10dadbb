package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.testing.SharedData;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code warmstage cache serve} with an address it cannot listen on, and {@code warmstage stage}
 * with a peers option that is not a list of base URIs, are usage errors (exit 2) that name what is
 * wrong, before anything runs: not a stack trace, not a job that fails after its restarts.
 */
class CacheServeArgsTest {
    @TempDir Path dir;

    @Test
    void aPortInUseIsAUsageErrorNamingThePort() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String port = Integer.toString(busy.getLocalPort());
            Run run = cli("cache", "serve", "--cache-dir", dir.toString(), "--port", port);
            assertThat(run.code()).isEqualTo(2);
            assertThat(run.err()).contains("127.0.0.1:" + port).doesNotContain("\tat java.");
        }
    }

    @Test
    void anAddressNotOfThisHostIsAUsageErrorNamingTheAddress() {
        Run run =
                cli(
                        "cache",
                        "serve",
                        "--cache-dir",
                        dir.toString(),
                        "--bind",
                        "192.0.2.1", // TEST-NET-1: never this host's
                        "--port",
                        "0");
        assertThat(run.code()).isEqualTo(2);
        assertThat(run.err()).contains("192.0.2.1").doesNotContain("\tat java.");
    }

    @Test
    void aPeersOptionThatIsNotABaseUriIsAUsageErrorBeforeTheJobRuns() {
        Path peft =
                SharedData.real()
                        .resolve(
                                "anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
        long t0 = System.nanoTime();
        Run run =
                cli(
                        "stage",
                        "--model",
                        peft.toString(),
                        "--device",
                        "cpu",
                        "-Dwarmstage.staging.dir=" + dir.resolve("staging"),
                        "-Dwarmstage.cache.peers=http://127.0.0.1:9470/cache");
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        assertThat(run.code()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("warmstage.cache.peers").contains("/cache");
        assertThat(seconds).as("seconds to the error").isLessThan(10);
    }
}
