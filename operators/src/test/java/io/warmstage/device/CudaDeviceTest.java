package io.warmstage.device;

import static io.warmstage.device.PinnedRingTest.crc32c;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Runs only on a host with a CUDA driver and a GPU; skipped elsewhere. */
class CudaDeviceTest {

    @BeforeEach
    void needsCuda() {
        assumeTrue(Devices.cudaAvailability().available(), Devices.cudaAvailability().reason());
    }

    @Test
    void randomBytesRoundTripAndMatchTheCpuDevice() throws Exception {
        byte[] origin = new byte[20 << 20]; // crosses the 8 MiB ring slots and wraps the ring
        new Random(1).nextBytes(origin);
        try (Device cuda = Devices.open("cuda", 0);
                HostDevice cpu = new HostDevice();
                DeviceBuffer g = cuda.allocate(origin.length + 3L);
                DeviceBuffer h = cpu.allocate(origin.length + 3L)) {
            Random rnd = new Random(2);
            for (int offset = 0; offset < origin.length; ) {
                int n = Math.min(origin.length - offset, 1 + rnd.nextInt(3 << 20));
                g.copyFromHost(3 + offset, ByteBuffer.wrap(origin, offset, n));
                h.copyFromHost(3 + offset, ByteBuffer.wrap(origin, offset, n));
                offset += n;
            }
            g.synchronize();

            assertThat(g.crc32c(3, origin.length)).isEqualTo(crc32c(origin));
            assertThat(g.crc32c(0, g.size())).isEqualTo(h.crc32c(0, h.size()));
            ByteBuffer back = ByteBuffer.allocate(origin.length);
            g.copyToHost(3, back);
            assertThat(back.array()).isEqualTo(origin);
        }
    }

    @Test
    void allocationLargerThanTheGpuSaysBothSizes() throws Exception {
        try (Device cuda = Devices.open("cuda:0", 0)) {
            assertThatThrownBy(() -> cuda.allocate(Long.MAX_VALUE / 2))
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("cannot allocate " + (Long.MAX_VALUE / 2) + " bytes")
                    .hasMessageContaining("free of");
            try (DeviceBuffer empty = cuda.allocate(0)) {
                assertThat(empty.crc32c(0, 0)).isZero();
            }
        }
    }
}
