package io.warmstage.device;

/**
 * Memory that tensors are staged into: {@code cpu} (off-heap host memory) or {@code cuda:N} (one
 * GPU). One staging subtask owns one device.
 */
public interface Device extends AutoCloseable {

    /** The device's name as users write it: {@code cpu} or {@code cuda:0}. */
    String name();

    /**
     * Allocates {@code bytes} of device memory.
     *
     * @param bytes size in bytes, 0 or more; may exceed 2 GiB
     * @throws DeviceException if the device has less free memory than asked for (the message gives
     *     both sizes) or the allocation fails
     */
    DeviceBuffer allocate(long bytes) throws DeviceException;

    /**
     * Allocates room for one whole safetensors file: {@code headerBytes} (8 + N) of header and
     * {@code dataBytes} of data section. The buffer's offsets address the data section; {@link
     * DeviceBuffer#publish} hands over the header once every byte is staged. Devices that keep only
     * the data section (a GPU) allocate {@code dataBytes}.
     *
     * @param name a plain file name (no separators) naming the staged file, where the device names
     *     its buffers (the cpu device's staging files)
     * @throws DeviceException as {@link #allocate}
     */
    default DeviceBuffer allocateFile(String name, long headerBytes, long dataBytes)
            throws DeviceException {
        return allocate(dataBytes);
    }

    /**
     * The GPU's UUID as {@code nvidia-smi -L} prints it ({@code GPU-xxxxxxxx-xxxx-xxxx-xxxx-
     * xxxxxxxxxxxx}), which names the GPU independently of {@code CUDA_VISIBLE_DEVICES}; empty for
     * the cpu device or when the driver does not tell.
     */
    default java.util.Optional<String> gpuUuid() {
        return java.util.Optional.empty();
    }

    /** Releases everything this device handle holds. Buffers still open are freed. */
    @Override
    void close();
}
