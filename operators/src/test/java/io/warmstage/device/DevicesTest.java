package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void cpuOpensAHostDevice() throws Exception {
        try (Device d = Devices.open("cpu", 7)) {
            assertThat(d).isInstanceOf(HostDevice.class);
            assertThat(d.name()).isEqualTo("cpu");
        }
    }

    @Test
    void probeRunsOnceAndIsCached() {
        assertThat(Devices.cudaAvailability()).isSameAs(Devices.cudaAvailability());
    }

    @Test
    void withoutCudaTheProbeSaysWhyOnOneLine() {
        CudaAvailability c = Devices.cudaAvailability();
        assumeFalse(c.available(), "this host has a GPU");

        assertThat(c.deviceCount()).isZero();
        assertThat(c.reason())
                .startsWith("no CUDA driver on this host (JCuda natives not loadable: ")
                .endsWith(")")
                .doesNotContain("\n")
                .hasSizeLessThan(200);
    }

    @Test
    void withoutCudaAskingForCudaIsAClearDeviceException() {
        CudaAvailability c = Devices.cudaAvailability();
        assumeFalse(c.available(), "this host has a GPU");

        for (String spec : new String[] {"cuda", "cuda:0", "cuda:3"}) {
            assertThatThrownBy(() -> Devices.open(spec, 0))
                    .isInstanceOf(DeviceException.class)
                    .hasMessage("cannot open cuda: " + c.reason());
        }
    }

    @Test
    void withoutCudaAutoFallsBackToCpu() throws Exception {
        assumeFalse(Devices.cudaAvailability().available(), "this host has a GPU");

        try (Device d = Devices.open("auto", 3)) {
            assertThat(d.name()).isEqualTo("cpu");
        }
    }

    @Test
    void oneLineKeepsTheClassAndTheFirstLineOfTheMessage() {
        assertThat(Devices.oneLine(new UnsatisfiedLinkError("cannot load libX\n  at stack\n")))
                .isEqualTo("UnsatisfiedLinkError: cannot load libX");
        assertThat(Devices.oneLine(new NoClassDefFoundError())).isEqualTo("NoClassDefFoundError");
    }

    @Test
    void malformedSpecsAreRejected() {
        for (String spec : new String[] {"gpu", "cuda:", "cuda:-1", "cuda:x", "", "CPU"}) {
            assertThatThrownBy(() -> Devices.open(spec, 0))
                    .as(spec)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(spec);
        }
        assertThatThrownBy(() -> Devices.open("cpu", -1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
