package io.warmstage.device;

import static io.warmstage.device.PinnedRingTest.crc32c;
import static io.warmstage.device.PinnedRingTest.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HostDeviceTest {
    @org.junit.jupiter.api.io.TempDir Path dir;

    private HostDevice device;

    @org.junit.jupiter.api.BeforeEach
    void openDevice() {
        device = new HostDevice(dir.resolve("device"));
    }

    @org.junit.jupiter.api.AfterEach
    void closeDevice() {
        device.close();
    }

    @Test
    void rangesCrossingSegmentsRoundTrip() throws Exception {
        byte[] expected = new byte[1000];
        try (HostBuffer buffer = device.allocate(expected.length)) {
            Random rnd = new Random(1);
            for (int i = 0; i < 300; i++) {
                int offset = rnd.nextInt(expected.length);
                byte[] chunk = random(rnd.nextInt(expected.length - offset + 1), i);
                System.arraycopy(chunk, 0, expected, offset, chunk.length);
                ByteBuffer src = i % 2 == 0 ? ByteBuffer.wrap(chunk) : direct(chunk);
                buffer.copyFromHost(offset, src);
                assertThat(src.hasRemaining()).isFalse();
            }
            buffer.synchronize();

            ByteBuffer all = ByteBuffer.allocate(expected.length);
            buffer.copyToHost(0, all);
            assertThat(all.array()).isEqualTo(expected);
            assertThat(all.hasRemaining()).isFalse();
        }
    }

    @Test
    void partialReadsAndCrc32cMatchTheOrigin() throws Exception {
        byte[] origin = random(1000, 2);
        try (HostBuffer buffer = device.allocate(origin.length)) {
            buffer.copyFromHost(0, ByteBuffer.wrap(origin));
            for (int[] r : new int[][] {{0, 1000}, {63, 2}, {64, 64}, {1, 998}, {999, 1}, {5, 0}}) {
                byte[] slice = Arrays.copyOfRange(origin, r[0], r[0] + r[1]);
                ByteBuffer dst = ByteBuffer.allocateDirect(r[1]);
                buffer.copyToHost(r[0], dst);
                assertThat(bytes(dst.flip())).as("range %s", Arrays.toString(r)).isEqualTo(slice);
                assertThat(buffer.crc32c(r[0], r[1])).isEqualTo(crc32c(slice));
            }
        }
    }

    @Test
    void defaultSegmentsHoldAWholeFile() throws Exception {
        byte[] origin = random(10_000, 3);
        try (HostDevice big = new HostDevice();
                DeviceBuffer buffer = big.allocate(origin.length)) {
            buffer.copyFromHost(0, ByteBuffer.wrap(origin));
            assertThat(buffer.crc32c(0, origin.length)).isEqualTo(crc32c(origin));
        }
    }

    @Test
    void rangesOutsideTheBufferAreRejected() throws Exception {
        try (HostBuffer buffer = device.allocate(100)) {
            assertThatThrownBy(() -> buffer.copyFromHost(99, ByteBuffer.allocate(2)))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("100 bytes");
            assertThatThrownBy(() -> buffer.copyToHost(-1, ByteBuffer.allocate(1)))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> buffer.crc32c(Long.MAX_VALUE, 2))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> buffer.crc32c(0, -1))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(buffer.crc32c(100, 0)).isZero();
        }
    }

    @Test
    void zeroByteAllocationIsValid() throws Exception {
        try (HostBuffer buffer = device.allocate(0)) {
            buffer.copyFromHost(0, ByteBuffer.allocate(0));
            assertThat(buffer.size()).isZero();
            assertThat(buffer.crc32c(0, 0)).isEqualTo(crc32c(new byte[0]));
            assertThatThrownBy(() -> buffer.copyFromHost(0, ByteBuffer.allocate(1)))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void useAfterCloseFailsAndCloseIsIdempotent() throws Exception {
        HostBuffer buffer = device.allocate(10);
        buffer.close();
        buffer.close();

        assertThatThrownBy(() -> buffer.copyFromHost(0, ByteBuffer.allocate(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> buffer.crc32c(0, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(buffer::synchronize).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void deviceCountsAllocatedBytesAndFreesOpenBuffersOnClose() throws Exception {
        HostBuffer a = device.allocate(100);
        HostBuffer b = device.allocate(300);
        assertThat(device.allocatedBytes()).isEqualTo(400);

        a.close();
        assertThat(device.allocatedBytes()).isEqualTo(300);
        assertThat(device.openBuffers()).isEqualTo(1);

        device.close();
        assertThat(device.allocatedBytes()).isZero();
        assertThat(device.openBuffers()).isZero();
        assertThatThrownBy(() -> b.crc32c(0, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> device.allocate(1)).isInstanceOf(IllegalStateException.class);
        assertThat(device.name()).isEqualTo("cpu");
    }

    @Test
    void allocationBeyondDirectMemoryIsADeviceException() {
        // More than the staging directory's file system holds.
        long tooMuch = 1L << 50;
        try (HostDevice big = new HostDevice()) {
            assertThatThrownBy(() -> big.allocate(tooMuch))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("1125899906842624 bytes")
                    .hasMessageContaining("free");
            assertThat(big.allocatedBytes()).isZero();
        }
    }

    private static ByteBuffer direct(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void aStagingFileIsACompleteSafetensorsFileOnlyOncePublished() throws Exception {
        byte[] header = random(24, 5);
        byte[] data = random(3000, 6);
        try (HostDevice device = new HostDevice(dir)) {
            HostBuffer buffer = device.allocateFile("abc.safetensors", header.length, data.length);
            buffer.copyFromHost(1000, ByteBuffer.wrap(data, 1000, 2000));
            buffer.copyFromHost(0, direct(Arrays.copyOf(data, 1000)));
            assertThat(buffer.path().getFileName().toString()).startsWith(".abc.safetensors.tmp-");
            assertThat(dir.resolve("abc.safetensors")).doesNotExist();

            buffer.publish(ByteBuffer.wrap(header));
            Path published = dir.resolve("abc.safetensors");
            byte[] whole = new byte[header.length + data.length];
            System.arraycopy(header, 0, whole, 0, header.length);
            System.arraycopy(data, 0, whole, header.length, data.length);
            assertThat(Files.readAllBytes(published)).isEqualTo(whole);
            assertThat(buffer.crc32c(0, data.length)).isEqualTo(crc32c(data));
            assertThat(bytes(buffer.map(10, 20))).isEqualTo(Arrays.copyOfRange(data, 10, 30));

            buffer.close();
            assertThat(published).doesNotExist();
        }
    }

    @Test
    void anIncompleteFileIsNeverPublished() throws Exception {
        try (HostDevice device = new HostDevice(dir)) {
            HostBuffer buffer = device.allocateFile("x.safetensors", 8, 100);
            buffer.copyFromHost(0, ByteBuffer.wrap(new byte[50]));
            assertThatThrownBy(() -> buffer.publish(ByteBuffer.wrap(new byte[8])))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("holds 58 bytes, expected 108");
            assertThat(dir.resolve("x.safetensors")).doesNotExist();
            buffer.close();
            try (var files = Files.list(dir)) {
                assertThat(files.filter(p -> !p.getFileName().toString().equals("device")))
                        .isEmpty();
            }
        }
    }

    @Test
    void tempFilesOfADeadWriterAreRemovedWhenTheDirectoryIsOpenedAgain() throws Exception {
        Files.write(dir.resolve(".old.safetensors.tmp-7"), new byte[10]);
        Files.write(dir.resolve("kept.safetensors"), new byte[10]);
        try (HostDevice device = new HostDevice(dir)) {
            assertThat(dir.resolve(".old.safetensors.tmp-7")).doesNotExist();
            assertThat(dir.resolve("kept.safetensors")).exists();
        }
    }

    @Test
    void namesWithSeparatorsAreRefused() {
        try (HostDevice device = new HostDevice(dir)) {
            assertThatThrownBy(() -> device.allocateFile("../x", 0, 1))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> device.allocateFile(".hidden", 0, 1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void noJvmMemoryHoldsTheStagedBytes() throws Exception {
        try (HostDevice device = new HostDevice(dir)) {
            HostBuffer buffer = device.allocate(8L << 20);
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            for (int i = 0; i < 8; i++) {
                buffer.copyFromHost((long) i << 20, chunk.clear());
            }
            assertThat(Files.size(buffer.path())).isEqualTo(8L << 20);
            assertThat(buffer.path().getParent()).isEqualTo(dir);
        }
    }
}
