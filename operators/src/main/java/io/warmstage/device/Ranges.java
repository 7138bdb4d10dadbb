package io.warmstage.device;

/** Bounds checks for byte ranges within a buffer, with checked 64-bit math. */
final class Ranges {
    private Ranges() {}

    /**
     * Returns {@code offset + length} after checking that {@code [offset, offset + length)} lies
     * within {@code [0, size)}.
     *
     * @throws IndexOutOfBoundsException otherwise (also when the sum overflows)
     */
    static long check(long offset, long length, long size) {
        long end;
        try {
            end = Math.addExact(offset, length);
        } catch (ArithmeticException e) {
            end = -1;
        }
        if (offset < 0 || length < 0 || end < 0 || end > size) {
            throw new IndexOutOfBoundsException(
                    "range at "
                            + offset
                            + " of "
                            + length
                            + " bytes lies outside a buffer of "
                            + size
                            + " bytes");
        }
        return end;
    }
}
