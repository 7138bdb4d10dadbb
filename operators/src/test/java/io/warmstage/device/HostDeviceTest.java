package io.warmstage.device;

import static io.warmstage.device.PinnedRingTest.crc32c;
import static io.warmstage.device.PinnedRingTest.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HostDeviceTest {
    private static final int SEGMENT = 64;

    private final HostDevice device = new HostDevice(SEGMENT);

    @Test
    void rangesCrossingSegmentsRoundTrip() throws Exception {
        byte[] expected = new byte[1000]; // 15 full segments + 40 bytes
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
        // Surefire caps direct memory at 2 GiB; 64 GiB cannot fit in it.
        long tooMuch = 64L << 30;
        try (HostDevice big = new HostDevice()) {
            assertThatThrownBy(() -> big.allocate(tooMuch))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("68719476736 bytes (64.00 GiB)");
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

    @org.junit.jupiter.api.Test
    void freedSegmentsAreReusedByTheNextBufferWithTheRightBytes() throws Exception {
        try (HostDevice device = new HostDevice(1024)) {
            HostBuffer first = device.allocate(3000);
            first.copyFromHost(0, java.nio.ByteBuffer.wrap(new byte[3000]));
            first.close();
            org.assertj.core.api.Assertions.assertThat(device.pooledSegments()).isEqualTo(3);

            byte[] data = new byte[2500];
            new java.util.Random(9).nextBytes(data);
            HostBuffer second = device.allocate(2500);
            org.assertj.core.api.Assertions.assertThat(device.pooledSegments()).isZero();
            second.copyFromHost(0, java.nio.ByteBuffer.wrap(data));
            java.nio.ByteBuffer back = java.nio.ByteBuffer.allocate(2500);
            second.copyToHost(0, back);
            org.assertj.core.api.Assertions.assertThat(back.array()).isEqualTo(data);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(data);
            org.assertj.core.api.Assertions.assertThat(second.crc32c(0, 2500))
                    .isEqualTo((int) crc.getValue());
            HostBuffer small = device.allocate(100); // under half a segment: exact, not pooled
            small.close();
            org.assertj.core.api.Assertions.assertThat(device.pooledSegments()).isZero();
        }
    }
}
