package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Devices#openForSlot} with a fake probe answer and an opener that hands out named host
 * devices, so the slot-to-GPU rules and claims run without a GPU.
 */
class OpenForSlotTest {
    private static final CudaAvailability TWO_GPUS = CudaAvailability.of(2);
    private final GpuClaims claims = GpuClaimsTest.claims();
    private final List<Integer> opened = new ArrayList<>();

    @Test
    void cudaOpensTheSlotsGpuAndCloseReleasesIt() throws Exception {
        Device d = open("cuda", SlotGpu.of(3, List.of(), List.of(), false));

        assertThat(d.name()).isEqualTo("cuda:1");
        assertThat(claims.holders(1)).containsExactly(3);
        try (DeviceBuffer b = d.allocate(16)) {
            assertThat(b.size()).isEqualTo(16);
        }
        d.close();
        assertThat(claims.holders(1)).isEmpty();
    }

    @Test
    void twoSlotsAskingForOneExplicitGpuFailUnlessShared() throws Exception {
        open("cuda:0", SlotGpu.of(0, List.of(), List.of(), false)).close();
        Device first = open("cuda:0", SlotGpu.of(0, List.of(), List.of(), false));

        assertThatThrownBy(() -> open("cuda:0", SlotGpu.of(1, List.of(), List.of(), false)))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("subtask 1 found no free GPU among cuda:[0]")
                .hasMessageContaining("warmstage.staging.gpu-shared: true");
        Device shared = open("cuda:0", SlotGpu.of(1, List.of(), List.of(), true));
        assertThat(claims.holders(0)).containsExactly(0, 1);
        first.close();
        shared.close();
        assertThat(opened).containsExactly(0, 0, 0);
    }

    @Test
    void aGpuThatFailsToOpenReleasesItsClaim() {
        Devices.CudaOpener broken =
                n -> {
                    throw new DeviceException("cuda:" + n + ": cannot open: boom");
                };

        assertThatThrownBy(
                        () ->
                                Devices.openForSlot(
                                        "cuda",
                                        SlotGpu.of(0, List.of(), List.of(), false),
                                        TWO_GPUS,
                                        claims,
                                        broken))
                .isInstanceOf(DeviceException.class)
                .hasMessage("cuda:0: cannot open: boom");
        assertThat(claims.holders(0)).isEmpty();
    }

    @Test
    void releaseClaimKeepsTheDeviceOpenButFreesTheGpu() throws Exception {
        Device d = open("cuda", SlotGpu.of(0, List.of(), List.of(), false));
        DeviceBuffer b = d.allocate(8);

        Devices.releaseClaim(d);

        assertThat(claims.holders(0)).isEmpty();
        assertThat(b.crc32c(0, 8)).isEqualTo(PinnedRingTest.crc32c(new byte[8]));
        d.close();
        Devices.releaseClaim(new HostDevice()); // not claimed: nothing to do
    }

    @Test
    void withoutCudaCpuAndAutoOpenTheHostAndCudaFailsOnOneLine() throws Exception {
        CudaAvailability none = CudaAvailability.unavailable("no CUDA driver on this host (x)");
        SlotGpu slot = SlotGpu.of(0, List.of(), List.of(), false);
        for (String spec : new String[] {"cpu", "auto"}) {
            try (Device d = Devices.openForSlot(spec, slot, none, claims, this::fakeGpu)) {
                assertThat(d).isInstanceOf(HostDevice.class);
            }
        }
        for (String spec : new String[] {"cuda", "cuda:1"}) {
            assertThatThrownBy(() -> Devices.openForSlot(spec, slot, none, claims, this::fakeGpu))
                    .isInstanceOf(DeviceException.class)
                    .hasMessage("cannot open cuda: no CUDA driver on this host (x)");
        }
        assertThatThrownBy(() -> Devices.openForSlot("gpu", slot, none, claims, this::fakeGpu))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown device 'gpu'");
        assertThat(opened).isEmpty();
    }

    @Test
    void theRealRegistryWithoutADriverClaimsNothing() {
        org.junit.jupiter.api.Assumptions.assumeFalse(
                Devices.cudaAvailability().available(), "this host has a GPU");

        assertThatThrownBy(
                        () ->
                                Devices.openForSlot(
                                        "cuda", SlotGpu.of(0, List.of(), List.of(), false)))
                .isInstanceOf(DeviceException.class)
                .hasMessageStartingWith("cannot open cuda: no CUDA driver on this host");
        assertThat(GpuClaims.JVM.holders(0)).isEmpty();
    }

    private Device open(String spec, SlotGpu slot) throws DeviceException {
        return Devices.openForSlot(spec, slot, TWO_GPUS, claims, this::fakeGpu);
    }

    /** A host device that calls itself cuda:N: the claim logic does not care what is behind. */
    private Device fakeGpu(int ordinal) {
        opened.add(ordinal);
        HostDevice host = new HostDevice();
        return new Device() {
            @Override
            public String name() {
                return "cuda:" + ordinal;
            }

            @Override
            public DeviceBuffer allocate(long bytes) throws DeviceException {
                return host.allocate(bytes);
            }

            @Override
            public void close() {
                host.close();
            }
        };
    }

    @org.junit.jupiter.api.Test
    void aCpuSlotNeverAsksForItsGpuChoice() throws Exception {
        Devices.SlotGpuSource broken =
                () -> {
                    throw new DeviceException(
                            "bad GPU ordinal 'a' in warmstage.staging.gpu-ordinals");
                };
        try (Device d = Devices.openForSlot("cpu", broken)) {
            org.assertj.core.api.Assertions.assertThat(d).isInstanceOf(HostDevice.class);
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(Devices.cudaAvailability().available());
        try (Device d = Devices.openForSlot("auto", broken)) {
            org.assertj.core.api.Assertions.assertThat(d.name()).isEqualTo("cpu");
        }
    }
}
