package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static io.warmstage.job.cli.StageCommandITCase.report;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.storage.RangeServer;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file rewritten with the same size between two runs with a warm cache: the second run stages the
 * new bytes, never the cached old ones, whatever the origin tells (or fails to tell) about
 * versions.
 */
class StaleBytesITCase {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");

    @TempDir Path tmp;
    private RangeServer origin;
    private byte[] before;
    private byte[] after;

    @BeforeEach
    void start() throws Exception {
        origin = new RangeServer();
        before = Files.readAllBytes(CNN);
        after = before.clone();
        after[after.length - 1] ^= 0x5a; // same header and size, one tensor's bytes differ
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
    }

    @Test
    void anOriginWithoutValidatorsIsNotCachedAndSaysSoOnce() throws Exception {
        origin.handler.noValidators = true;
        Run second = stageRewritten("sends no ETag or Last-Modified");
        assertThat(second.out())
                .containsOnlyOnce(
                        "WARNING not cached: "
                                + origin.uri("").toString()
                                + " sends no ETag or Last-Modified");
    }

    @Test
    void anOriginWithOnlyAWeakEtagIsNotCached() throws Exception {
        origin.handler.weakEtag = true;
        stageRewritten("sends only a weak ETag");
    }

    @Test
    void aLocalFileRewrittenWithItsOldModificationTimeIsNotServedFromTheCache() throws Exception {
        Path file = tmp.resolve("model.safetensors");
        Files.write(file, before);
        FileTime mtime = Files.getLastModifiedTime(file);
        Path cache = tmp.resolve("cache");
        Run first = stage(file.toUri().toString(), cache, tmp.resolve("r1.jsonl"));
        assertThat(first.out()).contains("0 hits, 1 misses");

        Files.write(file, after);
        Files.setLastModifiedTime(file, mtime); // what `touch -d` or a restoring copy does
        Path report = tmp.resolve("r2.jsonl");
        Run second = stage(file.toUri().toString(), cache, report);

        assertThat(second.code()).as(second.out() + second.err()).isZero();
        assertThat(second.out()).contains("0 hits, 1 misses");
        assertThat(crcs(report)).isEqualTo(crcsOf(after));
    }

    /** Two runs with one cache, the object rewritten between them; returns the second. */
    private Run stageRewritten(String why) throws Exception {
        origin.handler.put("/cnn.safetensors", before);
        String uri = origin.uri("/cnn.safetensors").toString();
        Path cache = tmp.resolve("cache");
        Run first = stage(uri, cache, tmp.resolve("r1.jsonl"));
        assertThat(first.code()).as(first.out() + first.err()).isZero();
        assertThat(first.out()).contains(why);

        origin.handler.put("/cnn.safetensors", after);
        Path report = tmp.resolve("r2.jsonl");
        Run second = stage(uri, cache, report);

        assertThat(second.code()).as(second.out() + second.err()).isZero();
        assertThat(second.out()).contains("0 hits, 1 misses").contains(why);
        assertThat(crcs(report)).isEqualTo(crcsOf(after));
        try (Stream<Path> entries = Files.list(cache)) {
            assertThat(entries.filter(p -> p.toString().endsWith(".entry.json"))).isEmpty();
        }
        return second;
    }

    private static Run stage(String uri, Path cache, Path report) {
        return cli(
                "stage",
                "--model",
                uri,
                "--cache-dir",
                cache.toString(),
                "--report",
                report.toString());
    }

    private Map<String, String> crcsOf(byte[] bytes) throws Exception {
        Path p = Files.write(tmp.resolve("expected-" + bytes.hashCode() + ".safetensors"), bytes);
        return ReferenceReader.crcs(p);
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
