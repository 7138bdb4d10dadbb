package io.warmstage.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.source.FileServer.Seen;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.RetryPolicy;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DESIGN.md: 8 + N + last end must be the file size. For an http:// file the size comes from the
 * stat (HEAD), so a truncated download fails at planning, before any tensor byte is fetched.
 */
class RemoteSizeCheckTest {
    /** tinygrad CNN: 353,808 bytes, header N = 1624, data section from byte 1632. */
    private static final String CNN = "Elyasb14_models__models__cnn.safetensors";

    private static final long CNN_SIZE = 353_808;
    private static final long CNN_DATA_START = 1632;
    private static final int PREFETCH = 65536;

    @TempDir Path dir;
    private FileServer server;
    private ObjectStores stores;

    @BeforeEach
    void start() throws Exception {
        byte[] cnn = Files.readAllBytes(SharedData.real().resolve(CNN));
        assertThat(cnn).hasSize((int) CNN_SIZE);
        Files.write(dir.resolve("whole.safetensors"), cnn);
        Files.write(dir.resolve("cut-in-data.safetensors"), Arrays.copyOf(cnn, 100_000));
        Files.write(dir.resolve("cut-in-header.safetensors"), Arrays.copyOf(cnn, 1000));
        server = new FileServer(dir);
        stores = ObjectStores.create(new Configuration());
    }

    @AfterEach
    void stop() throws Exception {
        stores.close();
        server.close();
    }

    @Test
    void wholeFilePlansWithItsHeader() {
        FilePlan plan = planOne("whole.safetensors", PREFETCH);

        assertThat(plan.error()).isNull();
        assertThat(plan.version().size()).isEqualTo(CNN_SIZE);
        assertThat(plan.header().dataStart()).isEqualTo(CNN_DATA_START);
        assertThat(plan.header().dataSize()).isEqualTo(CNN_SIZE - CNN_DATA_START);
        assertThat(plan.header().tensors()).hasSize(20);
    }

    @Test
    void downloadCutInTheDataSectionFailsWithBothSizes() {
        FilePlan plan = planOne("cut-in-data.safetensors", PREFETCH);

        assertThat(plan.isFailure()).isTrue();
        assertThat(plan.version()).isNull();
        assertThat(plan.error())
                .startsWith(server.uri("cut-in-data.safetensors") + ": ")
                .contains("the file should be 8 + 1624 + 352176 = 353808 bytes")
                .contains("but it is 100000 bytes");
        assertOnlyHeadThenRangesBelow(PREFETCH);
    }

    @Test
    void downloadCutInTheHeaderFailsOnTheFirstRead() {
        FilePlan plan = planOne("cut-in-header.safetensors", 64);

        assertThat(plan.error())
                .startsWith(server.uri("cut-in-header.safetensors") + ": ")
                .contains("file is 1000 bytes, header says 8 + 1624 = 1632")
                .contains("truncated download");
        assertThat(server.requests())
                .containsExactly(
                        new Seen("HEAD", "/cut-in-header.safetensors", null),
                        new Seen("GET", "/cut-in-header.safetensors", "bytes=0-63"));
    }

    @Test
    void headerLongerThanThePrefetchIsReadUpToTheDataSectionOnly() {
        FilePlan plan = planOne("cut-in-data.safetensors", 1024);

        assertThat(plan.error()).contains("but it is 100000 bytes");
        assertThat(server.gets())
                .extracting(Seen::range)
                .containsExactly("bytes=0-1023", "bytes=1024-" + (CNN_DATA_START - 1));
        assertThat(server.gets()).allSatisfy(s -> assertThat(s.last()).isLessThan(CNN_DATA_START));
    }

    private FilePlan planOne(String name, int prefetch) {
        ModelPlanner planner = new ModelPlanner(stores, RetryPolicy.none(), null, prefetch);
        List<FilePlan> plans = planner.plan(new ModelSpec(name, server.uri(name).toString()));
        assertThat(plans).hasSize(1);
        return plans.get(0);
    }

    /** One HEAD (the stat), then only GETs of ranges inside the first {@code limit} bytes. */
    private void assertOnlyHeadThenRangesBelow(long limit) {
        List<Seen> seen = server.requests();
        assertThat(seen.get(0).method()).isEqualTo("HEAD");
        assertThat(seen.subList(1, seen.size()))
                .isNotEmpty()
                .allSatisfy(
                        s -> {
                            assertThat(s.method()).isEqualTo("GET");
                            assertThat(s.first()).isGreaterThanOrEqualTo(0);
                            assertThat(s.last()).isLessThan(limit);
                        });
    }
}
