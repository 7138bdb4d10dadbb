package io.warmstage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class Crc32cTest {

    @Property(tries = 300)
    void combiningTwoPiecesEqualsTheWholeRange(
            @ForAll @IntRange(min = 0, max = 5000) int length,
            @ForAll @IntRange(min = 0, max = 5000) int cutAt,
            @ForAll long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        int cut = Math.min(cutAt, length);
        int a = crc(bytes, 0, cut);
        int b = crc(bytes, cut, length - cut);
        assertThat(Crc32c.combine(a, b, length - cut)).isEqualTo(crc(bytes, 0, length));
    }

    @Test
    void combinesManyPiecesOfAFourMebibyteRange() {
        byte[] bytes = new byte[4 << 20];
        new Random(7).nextBytes(bytes);
        int acc = crc(bytes, 0, 0);
        for (int off = 0; off < bytes.length; off += 1 << 20) {
            acc = Crc32c.combine(acc, crc(bytes, off, 1 << 20), 1 << 20);
        }
        assertThat(acc).isEqualTo(crc(bytes, 0, bytes.length));
        assertThat(Crc32c.of(ByteBuffer.wrap(bytes))).isEqualTo(acc);
    }

    @Test
    void emptySecondPieceLeavesTheFirst() {
        assertThat(Crc32c.combine(0x12345678, 0, 0)).isEqualTo(0x12345678);
    }

    private static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }
}
