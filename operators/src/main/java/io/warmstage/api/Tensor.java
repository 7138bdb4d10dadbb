package io.warmstage.api;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.format.Dtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor in device memory: {@code byteSize} bytes at {@code offset} of a device buffer that all
 * tensors of one file share. Data is little-endian, C order, as in the file.
 *
 * @param name the tensor's name
 * @param dtype its element type
 * @param shape its dimensions, outermost first; empty for a scalar
 * @param buffer the file's data section in device memory (shared; see {@link Warmstage#release})
 * @param offset the tensor's first byte in {@code buffer}
 * @param byteSize the tensor's size in bytes
 */
public record Tensor(
        String name, Dtype dtype, long[] shape, DeviceBuffer buffer, long offset, long byteSize) {

    /**
     * Copies the tensor to a new little-endian heap buffer.
     *
     * @throws IllegalStateException if the tensor is larger than 2 GiB - 1
     */
    public ByteBuffer toHost() throws DeviceException {
        if (byteSize > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name + " is " + byteSize + " bytes: read it in pieces");
        }
        ByteBuffer out = ByteBuffer.allocate((int) byteSize).order(ByteOrder.LITTLE_ENDIAN);
        buffer.copyToHost(offset, out);
        return out.flip();
    }

    /**
     * The tensor's bytes where the device is host memory, without a copy: for the {@code cpu}
     * device (and a file found in the host's staged set), a read-only little-endian mapping of the
     * file's staging file (shared memory), valid until the mapping is collected even after {@link
     * Warmstage#release}. Empty for other devices, and for a tensor over 2 GiB - 1 (read it with
     * {@link #toHost} in pieces).
     */
    public java.util.Optional<ByteBuffer> hostView() throws DeviceException {
        if (buffer instanceof io.warmstage.device.HostMapped host
                && byteSize <= Integer.MAX_VALUE) {
            return java.util.Optional.of(host.map(offset, byteSize).order(ByteOrder.LITTLE_ENDIAN));
        }
        return java.util.Optional.empty();
    }

    /** CRC-32C of the tensor's bytes as they sit in device memory. */
    public int crc32c() throws DeviceException {
        return buffer.crc32c(offset, byteSize);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
