package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Field;
import jcuda.driver.CUipcMemHandle;
import org.junit.jupiter.api.Test;

/**
 * Reading JCuda's {@code CUipcMemHandle} bytes (no GPU needed: the class holds them in a plain Java
 * array that the driver call fills).
 */
class IpcHandlesTest {

    @Test
    void theHandlesSixtyFourBytesAreCopiedOut() throws Exception {
        CUipcMemHandle handle = new CUipcMemHandle();
        byte[] inside = reserved(handle);
        for (int i = 0; i < inside.length; i++) {
            inside[i] = (byte) (0xa0 + i);
        }

        byte[] got = IpcHandles.bytes(handle, "cuda:0 buffer of 12.0 MiB");

        assertThat(got).hasSize(64).isEqualTo(inside).isNotSameAs(inside);
    }

    @Test
    void aJCudaThatKeepsTheBytesElsewhereFailsNamingTheBuffer() {
        assertThatThrownBy(
                        () ->
                                IpcHandles.field(
                                        new CUipcMemHandle(), "handle", "cuda:1 buffer of 3.0 GiB"))
                .isInstanceOf(DeviceException.class)
                .hasMessageStartingWith("cuda:1 buffer of 3.0 GiB: cannot read its CUDA IPC handle")
                .hasMessageContaining("jcuda.driver.CUipcMemHandle.handle");
    }

    @Test
    void aHandleOfTheWrongSizeIsRefused() {
        Object odd =
                new Object() {
                    @SuppressWarnings("unused")
                    private final byte[] reserved = new byte[32];
                };
        assertThatThrownBy(() -> IpcHandles.field(odd, "reserved", "cuda:0 buffer of 1 B"))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("cuda:0 buffer of 1 B: its CUDA IPC handle")
                .hasMessageEndingWith("is 32 bytes, not 64 bytes");
    }

    @Test
    void aBufferExportsTheHandleOfItsOwnAllocationWhileOpen() throws Exception {
        FakeGpu gpu = new FakeGpu(2, 1 << 10);
        gpu.exportIpcHandles();
        DeviceBuffer first = gpu.device().allocate(100);
        DeviceBuffer second = gpu.device().allocate(200);
        DeviceBuffer empty = gpu.device().allocate(0);

        assertThat(second.ipcHandle()).hasValue(FakeGpu.ipcHandleOf(1));
        assertThat(first.ipcHandle()).hasValue(FakeGpu.ipcHandleOf(0));
        assertThat(empty.ipcHandle()).as("nothing allocated: nothing to open").isEmpty();
        first.close();
        assertThatThrownBy(first::ipcHandle)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        gpu.device().close();
    }

    @Test
    void aGpuUuidIsFormattedAsNvidiaSmiPrintsIt() {
        byte[] uuid = new byte[16];
        for (int i = 0; i < 16; i++) {
            uuid[i] = (byte) (0x10 * (i % 16) + i);
        }
        assertThat(CudaDevice.formatUuid(uuid))
                .isEqualTo("GPU-00112233-4455-6677-8899-aabbccddeeff");
    }

    private static byte[] reserved(CUipcMemHandle handle) throws Exception {
        Field f = CUipcMemHandle.class.getDeclaredField("reserved");
        f.setAccessible(true);
        return (byte[]) f.get(handle);
    }
}
