package io.warmstage.device;

import java.lang.reflect.Field;
import jcuda.driver.CUipcMemHandle;

/**
 * The bytes of a {@code CUipcMemHandle} as JCuda 12.0.0 holds them: in a private 64-byte array
 * ({@code reserved}) with no accessor, read here by reflection. A JCuda release that stores them
 * elsewhere makes {@link #bytes} fail with a clear error instead of publishing a wrong handle.
 */
final class IpcHandles {
    /** {@code CU_IPC_HANDLE_SIZE} (CUDA Driver API): the size of an IPC handle in bytes. */
    static final int SIZE = 64;

    private static final String FIELD = "reserved";

    private IpcHandles() {}

    /**
     * A copy of the handle's 64 bytes.
     *
     * @param buffer the buffer the handle is of, for the error message (e.g. {@code cuda:0 buffer
     *     of 12.0 MiB})
     * @throws DeviceException naming {@code buffer} if the bytes cannot be read or are not 64
     */
    static byte[] bytes(CUipcMemHandle handle, String buffer) throws DeviceException {
        return field(handle, FIELD, buffer);
    }

    /** {@link #bytes} over any object and field name (the failure paths are tested through it). */
    static byte[] field(Object handle, String name, String buffer) throws DeviceException {
        Object value;
        try {
            Field f = handle.getClass().getDeclaredField(name);
            f.setAccessible(true);
            value = f.get(handle);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new DeviceException(
                    buffer
                            + ": cannot read its CUDA IPC handle from "
                            + handle.getClass().getName()
                            + "."
                            + name
                            + " ("
                            + e
                            + "); this JCuda version keeps the handle's bytes elsewhere",
                    e);
        }
        if (!(value instanceof byte[] b) || b.length != SIZE) {
            throw new DeviceException(
                    buffer
                            + ": its CUDA IPC handle ("
                            + handle.getClass().getName()
                            + "."
                            + name
                            + ") is "
                            + describe(value)
                            + ", not "
                            + SIZE
                            + " bytes");
        }
        return b.clone();
    }

    private static String describe(Object value) {
        return value instanceof byte[] b
                ? b.length + " bytes"
                : value == null ? "null" : "a " + value.getClass().getName();
    }
}
