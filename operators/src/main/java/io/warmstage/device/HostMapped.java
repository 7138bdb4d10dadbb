package io.warmstage.device;

import java.nio.MappedByteBuffer;

/** A buffer whose bytes are a file in host memory, which can be mapped without a copy. */
public interface HostMapped {
    /**
     * A read-only mapping of bytes {@code [offset, offset + length)} of the buffer (offsets as the
     * buffer's), sharing the file's pages. Valid until the mapping is collected, even after the
     * buffer is closed or its file deleted.
     *
     * @throws IllegalStateException if {@code length} exceeds 2 GiB - 1
     * @throws IndexOutOfBoundsException if the range lies outside the buffer
     * @throws DeviceException if the file cannot be mapped
     */
    MappedByteBuffer map(long offset, long length) throws DeviceException;
}
