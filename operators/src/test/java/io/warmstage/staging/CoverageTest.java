package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CoverageTest {

    @Test
    void mergesAdjacentAndOverlappingRanges() {
        Coverage c = new Coverage();
        c.add(10, 20);
        c.add(30, 40);
        assertThat(c.intervals()).isEqualTo(2);
        assertThat(c.covers(10, 20)).isTrue();
        assertThat(c.covers(15, 35)).isFalse();
        c.add(20, 30);
        assertThat(c.intervals()).isEqualTo(1);
        assertThat(c.covers(10, 40)).isTrue();
        c.add(5, 45);
        assertThat(c.coveredBytes()).isEqualTo(40);
        c.add(12, 13);
        assertThat(c.coveredBytes()).isEqualTo(40);
        assertThat(c.covers(4, 5)).isFalse();
        assertThat(c.covers(7, 7)).isTrue();
    }

    @Test
    void agreesWithABitSetOnRandomRanges() {
        Random rnd = new Random(7);
        for (int round = 0; round < 200; round++) {
            Coverage c = new Coverage();
            BitSet bits = new BitSet();
            List<int[]> added = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                int a = rnd.nextInt(500);
                int b = a + rnd.nextInt(40);
                c.add(a, b);
                bits.set(a, b);
                added.add(new int[] {a, b});
            }
            assertThat(c.coveredBytes()).isEqualTo(bits.cardinality());
            for (int q = 0; q < 50; q++) {
                int a = rnd.nextInt(560);
                int b = a + 1 + rnd.nextInt(30);
                boolean all = bits.nextClearBit(a) >= b;
                assertThat(c.covers(a, b))
                        .as("covers [%d,%d) after %s", a, b, added.size())
                        .isEqualTo(all);
            }
        }
    }
}
