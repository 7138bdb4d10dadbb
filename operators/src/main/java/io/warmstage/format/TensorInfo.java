package io.warmstage.format;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header.
 *
 * @param name the tensor name (the header key)
 * @param dtype the element type
 * @param shape dimensions, outermost first (C order); empty for a rank-0 tensor
 * @param begin first byte, relative to the data section (byte 8 + N of the file)
 * @param end one past the last byte, relative to the data section; {@code end - begin} is the
 *     tensor's size in bytes
 */
public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {

    /** Size of the tensor's data in bytes. */
    public long byteSize() {
        return end - begin;
    }

    /** Number of elements: the product of the shape (1 for rank 0). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && begin == t.begin
                && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}
