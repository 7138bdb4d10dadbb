package io.warmstage.cache;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RangeSetTest {

    @Test
    void reportsTheFirstGapUntilEveryByteIsCovered() {
        RangeSet r = new RangeSet();
        assertThat(r.firstGap(10)).isEqualTo("[0, 10)");
        assertThat(r.firstGap(0)).isNull();

        r.add(6, 10);
        r.add(0, 2);
        assertThat(r.firstGap(10)).isEqualTo("[2, 6)");

        r.add(3, 4);
        assertThat(r.firstGap(10)).isEqualTo("[2, 3)");

        r.add(1, 3); // overlaps and joins [0, 2) with [3, 4)
        assertThat(r.firstGap(10)).isEqualTo("[4, 6)");

        r.add(4, 6); // adjacent on both sides
        assertThat(r.firstGap(10)).isNull();
        assertThat(r.firstGap(11)).isEqualTo("[10, 11)");
    }

    @Test
    void emptyRangesCoverNothing() {
        RangeSet r = new RangeSet();
        r.add(5, 5);
        assertThat(r.firstGap(1)).isEqualTo("[0, 1)");
    }
}
