package io.warmstage.memory;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC-32C (Castagnoli) helpers: the value of a byte range, and the value of two adjacent ranges
 * from theirs, so that a tensor's checksum is built from the pieces of it that arrive in separate
 * chunks, in any order, touching each byte once.
 *
 * <p>{@link #combine} is zlib's {@code crc32_combine} (multiplication by x^(8 * len2) modulo the
 * polynomial, zlib 1.2.12 and later) with the Castagnoli polynomial 0x82F63B78 (reflected), the one
 * {@link java.util.zip.CRC32C} computes.
 */
public final class Crc32c {
    private static final int POLY = 0x82F63B78;
    private static final int[] X2N = new int[32];

    static {
        int p = 1 << 30; // x^1
        X2N[0] = p;
        for (int n = 1; n < 32; n++) {
            p = multModP(p, p);
            X2N[n] = p;
        }
    }

    private Crc32c() {}

    /** CRC-32C of {@code bytes}' remaining bytes; its position is not moved. */
    public static int of(ByteBuffer bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        return (int) crc.getValue();
    }

    /**
     * CRC-32C of A followed by B, from the CRC-32C of A, that of B and B's length.
     *
     * @param crcA CRC-32C of the first range
     * @param crcB CRC-32C of the second range
     * @param lengthB length of the second range in bytes, 0 or more
     */
    public static int combine(int crcA, int crcB, long lengthB) {
        if (lengthB < 0) {
            throw new IllegalArgumentException("negative length " + lengthB);
        }
        return multModP(x2nModP(lengthB, 3), crcA) ^ crcB;
    }

    /** a(x) * b(x) modulo p(x), bit-reflected. */
    private static int multModP(int a, int b) {
        int m = 1 << 31;
        int p = 0;
        for (; ; ) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) {
                    break;
                }
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return p;
    }

    /** x^(n * 2^k) modulo p(x). */
    private static int x2nModP(long n, int k) {
        int p = 1 << 31; // x^0
        while (n != 0) {
            if ((n & 1) != 0) {
                p = multModP(X2N[k & 31], p);
            }
            n >>>= 1;
            k++;
        }
        return p;
    }
}
