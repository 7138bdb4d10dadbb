package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.device.StagingArea;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The staging slot's side of the staged set: entries, their lifetime, access and the cap. */
class StagedSetStagingTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path stagingDir;

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness;

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
        ResidentSet.releaseAll();
    }

    private void open(boolean keepResident, Configuration extra) throws Exception {
        Configuration conf = new Configuration(extra);
        conf.set(StagingOptions.KEEP_RESIDENT, keepResident);
        conf.set(StagingOptions.STAGING_DIR, stagingDir.toString());
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new StagingFunction(conf, false)),
                        r -> r.target,
                        Types.INT);
        harness.open();
    }

    private List<StagedEntry> entries() {
        return StagedSet.at(stagingDir).entries();
    }

    @Test
    void aStagedFileIsListedWithEveryTensorsChecksumAndWithdrawnBeforeItIsFreed() throws Exception {
        open(false, new Configuration());
        List<ChunkRecord> records = StagingFunctionTest.chunks(PEFT, "peft", 10_000, false);
        Collections.shuffle(records, new Random(5));
        for (ChunkRecord r : records.subList(0, records.size() - 1)) {
            harness.processElement(r, 0);
        }
        assertThat(entries()).as("not listed before every tensor is staged").isEmpty();
        harness.processElement(records.get(records.size() - 1), 0);

        List<StagedEntry> listed = entries();
        assertThat(listed).hasSize(1);
        StagedEntry e = listed.get(0);
        assertThat(e.uri()).isEqualTo("file:" + PEFT.toUri().getRawPath());
        assertThat(e.size()).isEqualTo(Files.size(PEFT));
        assertThat(e.etag()).isEqualTo("v1");
        assertThat(e.model()).isEqualTo("peft");
        assertThat(e.device()).isEqualTo("cpu");
        assertThat(e.gpu()).isNull();
        Map<String, String> crcs =
                e.tensors().stream()
                        .collect(Collectors.toMap(StagedTensor::name, StagedTensor::crc32c));
        assertThat(crcs).isEqualTo(StagingFunctionTest.referenceCrcs(PEFT)).hasSize(25);
        Path file = Path.of(e.file());
        assertThat(Files.readAllBytes(file)).isEqualTo(Files.readAllBytes(PEFT));
        assertThat(e.dataStart())
                .isEqualTo(io.warmstage.format.HeaderParser.read(PEFT).dataStart());
        assertThat(StagedSet.at(stagingDir).findOnHost(e.uri())).contains(e);

        // names derive from hashes; modes are 0640 and 0750, never world-accessible
        Path entryFile = onlyEntryFile();
        assertThat(entryFile.getFileName().toString()).matches("[0-9a-f]{32}\\.json");
        assertThat(mode(entryFile)).isEqualTo("rw-r-----");
        assertThat(mode(file)).isEqualTo("rw-r-----");
        assertThat(mode(file.getParent())).isEqualTo("rwxr-x---");
        assertThat(mode(entryFile.getParent())).isEqualTo("rwxr-x---");

        harness.close(); // the job ends: withdrawn, then freed
        harness = null;
        assertThat(entries()).isEmpty();
        assertThat(file).doesNotExist();
    }

    @Test
    void aRefreshPublishesTheNewVersionBeforeWithdrawingTheOldAndOldMappingsStayValid()
            throws Exception {
        open(true, new Configuration());
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 50_000, false)) {
            harness.processElement(r, 0);
        }
        StagedEntry v1 = entries().get(0);
        byte[] origin = Files.readAllBytes(PEFT);
        MappedByteBuffer mapped;
        try (FileChannel ch = FileChannel.open(Path.of(v1.file()))) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }

        List<ChunkRecord> v2 = StagingFunctionTest.chunks(PEFT, "peft", 50_000, false);
        v2.forEach(r -> r.etag = "v2");
        for (ChunkRecord r : v2.subList(0, v2.size() - 1)) {
            harness.processElement(r, 0);
        }
        assertThat(entries())
                .as("the old version stays listed while the new one stages")
                .containsExactly(v1);
        harness.processElement(v2.get(v2.size() - 1), 0);

        List<StagedEntry> after = entries();
        assertThat(after).hasSize(1);
        assertThat(after.get(0).etag()).isEqualTo("v2");
        assertThat(Path.of(v1.file())).as("old version freed").doesNotExist();
        assertThat(Files.readAllBytes(Path.of(after.get(0).file()))).isEqualTo(origin);
        byte[] stillMapped = new byte[mapped.capacity()];
        mapped.get(0, stillMapped);
        assertThat(stillMapped)
                .as("a mapping of the old version keeps its bytes")
                .isEqualTo(origin);
    }

    @Test
    void aFileOverTheStagingAreasCapFailsItsModelAndNothingIsListed() throws Exception {
        Configuration conf = new Configuration();
        conf.set(StagingOptions.STAGING_MAX_SIZE, MemorySize.parse("100kb"));
        open(false, conf);
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 50_000, false)) {
            harness.processElement(r, 0);
        }
        List<StagingEvent> events = harness.extractOutputValues();
        StagingEvent file =
                events.stream().filter(e -> e.event.equals("file")).findFirst().orElseThrow();
        assertThat(file.status).isEqualTo("failed");
        assertThat(file.reason)
                .contains("warmstage.staging.max-size")
                .contains("cap of 102400 bytes")
                .contains("nothing evicted");
        assertThat(events.get(events.size() - 1).status).isEqualTo("failed");
        assertThat(entries()).isEmpty();
    }

    @Test
    void theConfiguredGroupOwnsStagedFilesAndEntries() throws Exception {
        String group =
                Files.readAttributes(stagingDir, PosixFileAttributes.class).group().getName();
        Configuration conf = new Configuration();
        conf.set(StagingOptions.STAGING_GROUP, group);
        open(false, conf);
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 50_000, false)) {
            harness.processElement(r, 0);
        }
        StagedEntry e = entries().get(0);
        assertThat(group(Path.of(e.file()))).isEqualTo(group);
        assertThat(group(onlyEntryFile())).isEqualTo(group);
    }

    @Test
    void anUnknownGroupFailsClearly() throws Exception {
        StagingArea area = new StagingArea(stagingDir, "no-such-group-ws", Long.MAX_VALUE);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> area.createDirectories(stagingDir.resolve("x")))
                .hasMessageContaining("warmstage.staging.group: no group 'no-such-group-ws'");
    }

    private Path onlyEntryFile() throws Exception {
        try (var files = Files.list(stagingDir.resolve("registry"))) {
            List<Path> all = files.toList();
            assertThat(all).hasSize(1);
            return all.get(0);
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private static String group(Path p) throws Exception {
        return Files.readAttributes(p, PosixFileAttributes.class).group().getName();
    }
}
