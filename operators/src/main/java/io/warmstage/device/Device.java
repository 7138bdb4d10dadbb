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

    /** Releases everything this device handle holds. Buffers still open are freed. */
    @Override
    void close();
}
