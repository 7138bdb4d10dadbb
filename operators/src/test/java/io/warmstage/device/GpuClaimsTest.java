package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class GpuClaimsTest {
    private final GpuClaims claims = new GpuClaims();

    @Test
    void slotsOfOneJvmGetDistinctGpusByDefault() throws Exception {
        for (int subtask = 0; subtask < 4; subtask++) {
            GpuClaims.Claim c = claims.claim(SlotGpu.of(subtask, List.of(), List.of(), false), 4);
            assertThat(c.ordinal()).isEqualTo(subtask);
        }
        assertThat(claims.holders(2)).containsExactly(2);
    }

    @Test
    void aSecondSlotOnTheSameGpuFailsNamingBothSubtasksAndTheOption() throws Exception {
        claims.claim(SlotGpu.of(1, List.of(), List.of(), false), 4);

        assertThatThrownBy(() -> claims.claim(SlotGpu.of(5, List.of(), List.of(), false), 4))
                .isInstanceOf(DeviceException.class)
                .hasMessage(
                        "subtask 5 cannot use cuda:1 (from subtask index % GPU count): subtask(s)"
                                + " [1] of this TaskManager already stage into it; give each slot"
                                + " its own GPU or set warmstage.staging.gpu-shared: true");
        assertThat(claims.holders(1)).containsExactly(1);
    }

    @Test
    void sharingWhenConfiguredPutsBothSlotsOnTheGpu() throws Exception {
        claims.claim(SlotGpu.of(0, List.of(), List.of(0, 0), true), 1);
        GpuClaims.Claim second = claims.claim(SlotGpu.of(1, List.of(), List.of(0, 0), true), 1);

        assertThat(second.ordinal()).isZero();
        assertThat(claims.holders(0)).containsExactly(0, 1);
        second.close();
        assertThat(claims.holders(0)).containsExactly(0);
    }

    @Test
    void externalResourcesFallBackToTheNextFreeGpuOfTheTaskManager() throws Exception {
        List<Integer> tmGpus = List.of(2, 3);
        // Subtasks 0 and 2 land on one TaskManager: both prefer index 0 of its list.
        GpuClaims.Claim a = claims.claim(SlotGpu.of(0, tmGpus, List.of(), false), 4);
        GpuClaims.Claim b = claims.claim(SlotGpu.of(2, tmGpus, List.of(), false), 4);

        assertThat(a.ordinal()).isEqualTo(2);
        assertThat(b.ordinal()).isEqualTo(3);
        assertThatThrownBy(() -> claims.claim(SlotGpu.of(4, tmGpus, List.of(), false), 4))
                .isInstanceOf(DeviceException.class)
                .hasMessageStartingWith(
                        "subtask 4 cannot use cuda:2 (from the TaskManager's 'gpu' external"
                                + " resources [2, 3]): subtask(s) [0]");
    }

    @Test
    void closingAClaimFreesTheGpuOnceForTheNextSlot() throws Exception {
        GpuClaims.Claim c = claims.claim(0, 0, false, 2);
        c.close();
        GpuClaims.Claim again = claims.claim(0, 3, false, 2);
        c.close(); // idempotent: must not release the new holder's claim

        assertThat(again.ordinal()).isZero();
        assertThat(claims.holders(0)).containsExactly(3);
    }

    @Test
    void anOrdinalBeyondTheHostsGpusIsRefusedBeforeClaiming() {
        assertThatThrownBy(() -> claims.claim(SlotGpu.of(0, List.of(), List.of(5), false), 2))
                .isInstanceOf(DeviceException.class)
                .hasMessage(
                        "cannot open cuda:5 for subtask 0 (from warmstage.staging.gpu-ordinals"
                                + " [5]): this host has 2 GPU(s)");
        assertThat(claims.holders(5)).isEmpty();
    }
}
