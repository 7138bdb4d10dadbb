package io.warmstage.job.gpucheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuCheckTest {
    @TempDir Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void dryRunStagesOnTheCpuAndAllChecksumsAreEqual() {
        int rc = run("--dry-run", "--size-mib", "8", "--dir", dir.toString());

        assertThat(rc).as(err.toString()).isEqualTo(GpuCheck.OK);
        assertThat(out.toString())
                .contains("== warmstage GPU check (dry run: no CUDA) ==")
                .contains("device            : cpu")
                .contains("checksums equal   : yes")
                .contains("mismatched        : none")
                .contains("plain copy GB/s   : n/a (dry run)")
                .endsWith("== PASS ==\n");
        assertThat(dir.resolve("gpu-check-model.safetensors")).doesNotExist();
    }

    @Test
    void withoutADriverCudaFailsFastOnOneLine() {
        assumeFalse(Devices.cudaAvailability().available(), "this host has a GPU");

        int rc = run("--dir", dir.toString());

        assertThat(rc).isEqualTo(GpuCheck.NO_DEVICE);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString())
                .startsWith("gpu-check: cannot open cuda: no CUDA driver on this host")
                .endsWith("\n")
                .hasLineCount(1);
        assertThat(dir.resolve("gpu-check-model.safetensors")).doesNotExist();
    }

    @Test
    void badArgumentsAreOneLineWithUsage() {
        assertThat(run("--size-mib", "0")).isEqualTo(GpuCheck.NO_DEVICE);
        assertThat(err.toString())
                .startsWith("gpu-check: --size-mib needs a whole number of MiB")
                .contains("usage: GpuCheck")
                .hasLineCount(1);
    }

    @Test
    void aChunkCopiedToTheWrongOffsetIsCaughtByTheChecksums() throws Exception {
        Path file = dir.resolve("m.safetensors");
        CheckModel.write(file, CheckModel.forSize(2 << 20));
        SafetensorsHeader h = HeaderParser.read(file);
        Map<String, Integer> host = HostChecksums.of(file, h);

        CopyPaths.Result good = CopyPaths.records(file, h, new HostDevice(), 1 << 20, host);
        CopyPaths.Result bad = CopyPaths.records(file, h, new OffByOne(), 1 << 20, host);

        assertThat(good.mismatches()).isEmpty();
        assertThat(good.bytes()).isEqualTo(h.dataSize());
        assertThat(bad.mismatches()).isNotEmpty().hasSizeLessThan(h.tensors().size());
    }

    @Test
    void modelSizeFollowsTheTargetWithLlamaWidths() {
        CheckModel.Dims big = CheckModel.forSize(4096L << 20);
        assertThat(big.hidden()).isEqualTo(4096);
        assertThat(big.layers()).isEqualTo(9);
        assertThat(big.dataBytes()).isEqualTo(4_450_312_192L);
        assertThat(CheckModel.forSize(64 << 20).hidden()).isEqualTo(256);
        assertThat(CheckModel.forSize(1).layers()).isEqualTo(1);
    }

    @Test
    void blocksAreFiniteBf16OfWeightLikeMagnitudeAndDependOnTheOffset() {
        ByteBuffer b = ByteBuffer.wrap(CheckModel.block(7, 0)).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            float v = Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16);
            assertThat(Math.abs(v)).isBetween(0x1p-7f, 0x1p-3f);
        }
        assertThat(CheckModel.block(7, 0)).isEqualTo(CheckModel.block(7, 0));
        assertThat(CheckModel.block(7, 0)).isNotEqualTo(CheckModel.block(7, 1 << 20));
    }

    @Test
    void argumentDefaults() {
        CheckArgs a = CheckArgs.parse(new String[0]);
        assertThat(a.sizeBytes()).isEqualTo(4096L << 20);
        assertThat(a.device()).isEqualTo("cuda");
        assertThat(a.recordBytes()).isEqualTo(4 << 20);
        assertThat(CheckArgs.parse(new String[] {"--dry-run"}).sizeBytes()).isEqualTo(64L << 20);
        assertThatThrownBy(() -> CheckArgs.parse(new String[] {"--gpu"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("unknown argument '--gpu'");
    }

    private int run(String... args) {
        return GpuCheck.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    /** A cpu device whose copies, except the first and the last, land one byte late. */
    private static final class OffByOne implements Device {
        private final HostDevice host = new HostDevice();

        @Override
        public String name() {
            return "off-by-one";
        }

        @Override
        public DeviceBuffer allocate(long bytes) throws DeviceException {
            DeviceBuffer b = host.allocate(bytes);
            return new DeviceBuffer() {
                @Override
                public long size() {
                    return b.size();
                }

                @Override
                public void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
                    if (offset > 0 && offset + src.remaining() < b.size()) {
                        b.copyFromHost(offset + 1, src);
                    } else {
                        b.copyFromHost(offset, src);
                    }
                }

                @Override
                public void synchronize() throws DeviceException {
                    b.synchronize();
                }

                @Override
                public void copyToHost(long offset, ByteBuffer dst) throws DeviceException {
                    b.copyToHost(offset, dst);
                }

                @Override
                public int crc32c(long offset, long length) throws DeviceException {
                    return b.crc32c(offset, length);
                }

                @Override
                public void close() {
                    b.close();
                }
            };
        }

        @Override
        public void close() {
            host.close();
        }
    }
}
