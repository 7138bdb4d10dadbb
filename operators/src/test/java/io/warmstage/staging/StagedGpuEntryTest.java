package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.device.Device;
import io.warmstage.device.Devices;
import io.warmstage.device.FakeGpu;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file staged on a GPU-like device that exports IPC handles is listed in the staged set with the
 * handle of its allocation and each tensor's offset in it, in the form the Python consumer reads: a
 * separate python3 process finds the entry and computes the same pointers.
 */
class StagedGpuEntryTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static FakeGpu gpu;

    @TempDir Path stagingDir;

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness;

    /** The staging function with the fake GPU as its device. */
    static final class OnFakeGpu extends StagingFunction {
        private static final long serialVersionUID = 1L;

        OnFakeGpu(Configuration config) {
            super(config, false);
        }

        @Override
        protected Device openDevice(String spec, Devices.SlotGpuSource slotGpu) {
            return gpu.device();
        }
    }

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
        ResidentSet.releaseAll();
    }

    @Test
    void theEntryCarriesTheAllocationsIpcHandleAndEveryTensorsOffset() throws Exception {
        StagedEntry e = stage();
        SafetensorsHeader h = HeaderParser.read(PEFT);
        byte[] origin = Files.readAllBytes(PEFT);

        assertThat(e.file()).as("no staging file for a GPU").isNull();
        assertThat(e.device()).isEqualTo("cuda:0");
        assertThat(e.gpu().ordinal()).isZero();
        assertThat(e.gpu().ipcHandle())
                .isEqualTo(HexFormat.of().formatHex(FakeGpu.ipcHandleOf(0)))
                .hasSize(128)
                .isLowerCase();
        assertThat(e.dataStart()).isEqualTo(h.dataStart());
        assertThat(e.tensors()).hasSize(h.tensors().size());
        byte[] device = gpu.allocations().get(0); // the file's data section (its cuMemAlloc)
        for (StagedTensor t : e.tensors()) {
            TensorInfo info = h.tensor(t.name());
            assertThat(t.dataOffsets()).containsExactly(info.begin(), info.end());
            // the bytes at the allocation's base + begin are the tensor's, with the listed CRC
            byte[] at = Arrays.copyOfRange(device, (int) t.begin(), (int) info.end());
            int from = (int) (h.dataStart() + info.begin());
            assertThat(at).isEqualTo(Arrays.copyOfRange(origin, from, from + at.length));
            CRC32C crc = new CRC32C();
            crc.update(at);
            assertThat(t.crc32c()).isEqualTo(StagingEvent.hex((int) crc.getValue()));
        }
    }

    @Test
    void aPythonProcessReadsTheEntryAndComputesEveryTensorsPointer() throws Exception {
        Path python = python();
        StagedEntry e = stage();
        long base = 0x7f0000000000L; // where a consumer's cuIpcOpenMemHandle might map it

        Path repo = Path.of("..").toAbsolutePath().normalize();
        Process p =
                new ProcessBuilder(
                                python.toString(),
                                repo.resolve("python/tests/cuda_entry.py").toString(),
                                "--staging-dir",
                                stagingDir.toString(),
                                "--base",
                                Long.toString(base),
                                PEFT.toUri().toString())
                        .redirectErrorStream(true)
                        .start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        JsonNode n = JSON.readTree(text.lines().filter(l -> l.startsWith("{")).findFirst().get());

        assertThat(n.get("uri").asText()).isEqualTo(e.uri());
        assertThat(n.get("ordinal").asInt()).isZero();
        assertThat(n.get("ipc_handle").asText())
                .isEqualTo(HexFormat.of().formatHex(FakeGpu.ipcHandleOf(0)));
        JsonNode pointers = n.get("pointers");
        assertThat(pointers.size()).isEqualTo(e.tensors().size());
        for (StagedTensor t : e.tensors()) {
            JsonNode ptr = pointers.get(t.name());
            assertThat(ptr.get(0).asLong()).as(t.name()).isEqualTo(base + t.begin());
            assertThat(ptr.get(1).asLong()).as(t.name()).isEqualTo(t.byteSize());
        }
    }

    /** Stages PEFT on the fake GPU (which exports handles); returns its one entry. */
    private StagedEntry stage() throws Exception {
        gpu = new FakeGpu(4, 1 << 20);
        gpu.exportIpcHandles();
        Configuration conf = new Configuration();
        conf.set(StagingOptions.DEVICE, "cuda"); // the fake GPU (openDevice above)
        conf.set(StagingOptions.STAGING_DIR, stagingDir.toString());
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new OnFakeGpu(conf)), r -> r.target, Types.INT);
        harness.open();
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 100_000, false)) {
            harness.processElement(r, 0);
        }
        assertThat(harness.extractOutputValues())
                .filteredOn(ev -> ev.event.equals(StagingEvent.FILE))
                .singleElement()
                .satisfies(ev -> assertThat(ev.status).isEqualTo("staged"));
        List<StagedEntry> listed = StagedSet.at(stagingDir).entries();
        assertThat(listed).hasSize(1);
        return listed.get(0);
    }

    private static Path python() {
        for (String p : new String[] {"/usr/bin/python3", "/usr/local/bin/python3"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        Assumptions.abort("no python3 on this host");
        return null;
    }
}
