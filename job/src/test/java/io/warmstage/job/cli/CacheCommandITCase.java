package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static io.warmstage.job.cli.StageCommandITCase.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache's life seen from the command line: a cap, corrupt copies, list, verify, prune. */
class CacheCommandITCase {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @TempDir Path tmp;

    @Test
    void aCorruptCachedCopyIsReportedThenListVerifyAndPruneWork() throws Exception {
        Path cache = tmp.resolve("cache");
        Run first = stage(cache, tmp.resolve("r1.jsonl"));
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        assertThat(first.out()).contains("0 hits, 2 misses");

        Run list = cli("cache", "list", "--cache-dir", cache.toString());
        assertThat(list.code()).isZero();
        assertThat(list.out())
                .contains(PEFT.toUri().toString())
                .contains(CNN.toUri().toString())
                .contains("2 entries, ")
                .contains((Files.size(PEFT) + Files.size(CNN)) + " bytes");
        assertThat(cli("cache", "verify", "--cache-dir", cache.toString()).out())
                .contains("2 entries checked, 2 ok, 0 corrupt");

        Path cnnData = dataOf(cache, CNN);
        byte[] bad = Files.readAllBytes(cnnData);
        bad[bad.length - 1] ^= 1;
        Files.write(cnnData, bad);
        Run verify = cli("cache", "verify", "--cache-dir", cache.toString());
        assertThat(verify.code()).isEqualTo(1);
        assertThat(verify.out()).contains("CORRUPT " + CNN.toUri()).contains("1 corrupt");

        Path report = tmp.resolve("r2.jsonl");
        Run second = stage(cache, report);
        assertThat(second.code()).as(second.out() + second.err()).isZero();
        assertThat(second.out())
                .contains("1 hits, 1 misses")
                .containsOnlyOnce("WARNING cached copy " + cnnData)
                .contains("was corrupt");
        List<JsonNode> corrupt =
                report(report).stream()
                        .filter(n -> n.get("event").asText().equals("cache"))
                        .filter(n -> n.get("status").asText().equals("corrupt"))
                        .toList();
        assertThat(corrupt).hasSize(1);
        assertThat(corrupt.get(0).get("file").asText()).isEqualTo(CNN.toUri().toString());
        assertThat(cli("cache", "verify", "--cache-dir", cache.toString()).out())
                .contains("2 entries checked, 2 ok, 0 corrupt");

        Run prune =
                cli(
                        "cache",
                        "prune",
                        "--cache-dir",
                        cache.toString(),
                        "--max-size",
                        Long.toString(Math.max(Files.size(PEFT), Files.size(CNN))));
        assertThat(prune.code()).as(prune.out() + prune.err()).isZero();
        assertThat(prune.out()).contains("pruned 1 entries");
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.filter(p -> p.toString().endsWith(".entry.json"))).hasSize(1);
        }
        assertThat(cli("cache", "frobnicate", "--cache-dir", cache.toString()).code()).isEqualTo(2);
    }

    @Test
    void aStagingRunKeepsTheCacheUnderItsCap() throws Exception {
        Path cache = tmp.resolve("cache");
        long cap = Math.max(Files.size(PEFT), Files.size(CNN));
        Run run =
                cli(
                        "stage",
                        "--model",
                        PEFT.toString(),
                        "--model",
                        CNN.toString(),
                        "--cache-dir",
                        cache.toString(),
                        "-Dwarmstage.cache.max-size=" + cap,
                        "-Dwarmstage.cache.in-use=0s");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        long total = 0;
        try (Stream<Path> data = Files.list(cache)) {
            for (Path p : data.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                total += Files.size(p);
            }
        }
        assertThat(total).isPositive().isLessThanOrEqualTo(cap);
    }

    private static Run stage(Path cache, Path report) {
        return cli(
                "stage",
                "--model",
                PEFT.toString(),
                "--model",
                CNN.toString(),
                "--cache-dir",
                cache.toString(),
                "--report",
                report.toString());
    }

    private static Path dataOf(Path cache, Path origin) throws Exception {
        try (Stream<Path> sidecars = Files.list(cache)) {
            for (Path s : sidecars.filter(p -> p.toString().endsWith(".entry.json")).toList()) {
                if (Files.readString(s).contains(origin.getFileName().toString())) {
                    String name = s.getFileName().toString();
                    return cache.resolve(
                            name.substring(0, name.length() - ".entry.json".length())
                                    + ".safetensors");
                }
            }
        }
        throw new AssertionError("no entry for " + origin);
    }
}
