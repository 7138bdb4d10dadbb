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

    /** CRC-32C of the tensor's bytes as they sit in device memory. */
    public int crc32c() throws DeviceException {
        return buffer.crc32c(offset, byteSize);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
