package io.warmstage.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedFileBuffer;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Warmstage#loadFile} takes a file from the host's staged set before its origin. */
class StagedLoadFileTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path stagingDir;
    @TempDir Path originDir;

    @AfterEach
    void defaults() {
        Warmstage.setStagingDir(HostDevice.DEFAULT_ROOT);
    }

    @Test
    void aStagedFileIsMappedWithoutReadingTheOrigin() throws Exception {
        // the origin cannot be reached at all: port 9 on loopback refuses connections
        String uri = "http://user:secret@127.0.0.1:9/m/adapter.safetensors?sig=abc";
        stage("http://127.0.0.1:9/m/adapter.safetensors?…", PEFT);
        Warmstage.setStagingDir(stagingDir);
        try (HostDevice cpu = new HostDevice(stagingDir.resolve("consumer"))) {
            Map<String, Tensor> tensors = Warmstage.loadFile(uri, cpu);
            Map<String, byte[]> expected = ReferenceReader.tensors(PEFT);
            assertThat(tensors.keySet()).isEqualTo(expected.keySet());
            for (Tensor t : tensors.values()) {
                assertThat(t.buffer()).isInstanceOf(StagedFileBuffer.class);
                ByteBuffer view = t.hostView().orElseThrow();
                byte[] got = new byte[view.remaining()];
                view.get(got);
                assertThat(got).as(t.name()).isEqualTo(expected.get(t.name()));
            }
            Warmstage.release(tensors);
        }
    }

    @Test
    void aStagedCopyThatFailsItsChecksumIsNotUsed() throws Exception {
        Path origin = Files.copy(PEFT, originDir.resolve("adapter.safetensors"));
        String uri = origin.toUri().toString();
        Path staged = stage("file:" + origin.toUri().getRawPath(), PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        try (var ch =
                java.nio.channels.FileChannel.open(
                        staged, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42}), h.dataStart() + h.tensors().get(3).begin());
        }
        Warmstage.setStagingDir(stagingDir);
        try (HostDevice cpu = new HostDevice(stagingDir.resolve("consumer"))) {
            Map<String, Tensor> tensors = Warmstage.loadFile(uri, cpu);
            assertThat(tensors.values()).allMatch(t -> !(t.buffer() instanceof StagedFileBuffer));
            Map<String, String> crcs = ReferenceReader.crcs(PEFT);
            for (Tensor t : tensors.values()) {
                assertThat(String.format("%08x", t.crc32c())).isEqualTo(crcs.get(t.name()));
            }
            Warmstage.release(tensors);
        }
    }

    @Test
    void withoutAStagedSetTheOriginIsRead() throws Exception {
        Warmstage.setStagingDir(stagingDir); // empty: no registry yet
        try (HostDevice cpu = new HostDevice(stagingDir.resolve("consumer"))) {
            Map<String, Tensor> tensors = Warmstage.loadFile(PEFT.toString(), cpu);
            assertThat(tensors).hasSize(ReferenceReader.tensors(PEFT).size());
            Warmstage.release(tensors);
        }
    }

    /** Publishes a copy of {@code file} as staged under {@code uri}; returns the staging file. */
    private Path stage(String uri, Path file) throws Exception {
        Path staged =
                Files.createDirectories(stagingDir.resolve("job-x/slot-0"))
                        .resolve("0123.safetensors");
        Files.copy(file, staged);
        SafetensorsHeader h = HeaderParser.read(file);
        Map<String, String> crcs = ReferenceReader.crcs(file);
        List<StagedTensor> tensors = new ArrayList<>();
        for (TensorInfo t : h.tensors()) {
            tensors.add(
                    new StagedTensor(
                            t.name(),
                            t.dtype().name(),
                            Arrays.stream(t.shape()).boxed().toList(),
                            List.of(t.begin(), t.end()),
                            crcs.get(t.name())));
        }
        new StagedSet(io.warmstage.device.StagingArea.unbounded(stagingDir))
                .publish(
                        new StagedEntry(
                                StagedEntry.FORMAT,
                                uri,
                                Files.size(file),
                                "v1",
                                "m",
                                "host",
                                "x",
                                0,
                                "cpu",
                                ProcessHandle.current().pid(),
                                java.time.Instant.now().toString(),
                                staged.toString(),
                                h.dataStart(),
                                null,
                                tensors));
        return staged;
    }
}
