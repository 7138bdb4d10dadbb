package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Staging files of a job that was killed or interrupted are removed by the next job. */
class DeadJobSweepTest {
    @TempDir Path root;

    @Test
    void aDeadJobsFilesGoAKeptOneAndAYoungOneStay() throws Exception {
        Path dead = deadJob("job-dead", true);
        Path kept = deadJob("job-kept", true);
        Files.write(kept.resolve(StagingSweeper.KEPT_MARKER), new byte[0]);
        Path young = deadJob("job-young", false);

        Configuration conf = new Configuration();
        conf.set(StagingOptions.STAGING_DIR, root.toString());
        var harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new StagingFunction(conf, false)),
                        (io.warmstage.source.ChunkRecord r) -> r.target,
                        Types.INT);
        try {
            harness.open();
            assertThat(dead).doesNotExist();
            assertThat(kept.resolve("slot-0/abc.safetensors")).exists();
            assertThat(young.resolve("slot-0/abc.safetensors")).exists();
        } finally {
            harness.close();
        }
    }

    /** A job directory whose slot holds a published file, a temp file and an unlocked owner. */
    private Path deadJob(String name, boolean old) throws Exception {
        Path slot = Files.createDirectories(root.resolve(name).resolve("slot-0"));
        Files.write(slot.resolve("abc.safetensors"), new byte[100]);
        Files.write(slot.resolve(".abc.safetensors.tmp-3"), new byte[10]);
        Files.write(slot.resolve(".owner"), new byte[0]);
        if (old) {
            Files.setLastModifiedTime(
                    root.resolve(name), FileTime.from(Instant.now().minusSeconds(600)));
        }
        return root.resolve(name);
    }
}
