package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.DeviceLostException;
import io.warmstage.device.Devices;
import io.warmstage.device.FakeGpu;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The staging function on a GPU-like device whose H2D copies land only when its stream runs (the
 * real ring and buffers over the fake copy engine).
 */
class StagingOnGpuTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    private static FakeGpu gpu;
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

    private void open(boolean verify) throws Exception {
        gpu = new FakeGpu(4, 1 << 20);
        Configuration conf = new Configuration();
        conf.set(StagingOptions.VERIFY, verify);
        conf.set(StagingOptions.DEVICE, "cuda"); // the fake GPU (openDevice below)
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new OnFakeGpu(conf)), r -> r.target, Types.INT);
        harness.open();
    }

    @Test
    void withoutVerifyATensorIsReportedOnlyOnceItsBytesHaveLanded() throws Exception {
        open(false);
        byte[] origin = Files.readAllBytes(PEFT);
        SafetensorsHeader h = HeaderParser.read(PEFT);
        int reported = 0;
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 100_000, false)) {
            harness.processElement(r, 0);
            List<StagingEvent> tensors =
                    harness.extractOutputValues().stream()
                            .filter(e -> e.event.equals("tensor"))
                            .toList();
            byte[] device = gpu.allocations().get(0); // the file's data section, as it is now
            for (StagingEvent e : tensors.subList(reported, tensors.size())) {
                TensorInfo t = h.tensor(e.tensor);
                int at = (int) (h.dataStart() + t.begin());
                assertThat(Arrays.copyOfRange(device, (int) t.begin(), (int) t.end()))
                        .as("bytes of %s when its event was emitted", e.tensor)
                        .isEqualTo(Arrays.copyOfRange(origin, at, at + (int) t.byteSize()));
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(origin, at, (int) t.byteSize());
                assertThat(e.crc32c) // from the bytes as they were copied, not read back
                        .isEqualTo(StagingEvent.hex((int) crc.getValue()));
            }
            reported = tensors.size();
        }
        assertThat(reported).isEqualTo(25);
    }

    @Test
    void pooledChunksGoStraightFromTheirBuffersToTheDeviceAndComeBackOnceLanded() throws Exception {
        open(false);
        byte[] origin = Files.readAllBytes(PEFT);
        io.warmstage.memory.ChunkBuffers pool =
                new io.warmstage.memory.ChunkBuffers(100_000, 64L << 20);
        List<io.warmstage.memory.ChunkBuffer> taken = new java.util.ArrayList<>();
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 100_000, false)) {
            io.warmstage.memory.ChunkBuffer b = pool.take();
            taken.add(b);
            java.nio.ByteBuffer m = b.memory();
            m.put(r.bytes()).flip();
            r.data = m.slice();
            r.buffer = b;
            harness.processElement(r, 0);
            b.release(); // as the emitter does once the chained staging returned
        }
        java.util.Map<String, String> crcs = new java.util.HashMap<>();
        harness.extractOutputValues().stream()
                .filter(e -> e.event.equals("tensor"))
                .forEach(e -> crcs.put(e.tensor, e.crc32c));
        assertThat(crcs).isEqualTo(ReferenceReader.crcs(PEFT));
        assertThat(gpu.directCopies()).as("chunks copied from their own buffers").isPositive();
        assertThat(gpu.allocations().get(0))
                .isEqualTo(
                        Arrays.copyOfRange(
                                origin, (int) HeaderParser.read(PEFT).dataStart(), origin.length));
        assertThat(taken).allSatisfy(b -> assertThat(b.references()).isZero());
    }

    @Test
    void aStickyDeviceErrorFailsTheTaskInsteadOfTheFile() throws Exception {
        open(true);
        List<ChunkRecord> records = StagingFunctionTest.chunks(PEFT, "peft", 100_000, false);
        harness.processElement(records.get(0), 0);
        gpu.failNextCopy(new DeviceLostException("cuda:0: cuMemcpyHtoDAsync failed: sticky"));

        assertThatThrownBy(() -> harness.processElement(records.get(1), 0))
                .isInstanceOf(DeviceLostException.class)
                .hasMessageContaining("sticky");
        assertThat(harness.extractOutputValues()).noneMatch(e -> "failed".equals(e.status));
    }

    @Test
    void anOrdinaryDeviceErrorFailsOnlyItsFile() throws Exception {
        open(true);
        List<ChunkRecord> records = StagingFunctionTest.chunks(PEFT, "peft", 100_000, false);
        harness.processElement(records.get(0), 0);
        gpu.failNextCopy(new DeviceException("cuda:0: cuMemcpyHtoDAsync failed: invalid value"));

        harness.processElement(records.get(1), 0);

        assertThat(harness.extractOutputValues().stream().filter(e -> e.event.equals("file")))
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.status).isEqualTo("failed");
                            assertThat(e.reason).contains("invalid value");
                        });
    }
}
