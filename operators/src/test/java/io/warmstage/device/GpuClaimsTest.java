package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class GpuClaimsTest {
    private final GpuClaims claims = claims();

    /** A registry over a fresh lock directory, as the JVM's own but apart from other tests. */
    static GpuClaims claims() {
        try {
            return new GpuClaims(Files.createTempDirectory("warmstage-gpu-locks"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void slotsOfOneJvmGetDistinctGpusByDefault() throws Exception {
        for (int subtask = 0; subtask < 4; subtask++) {
            GpuClaims.Claim c = claims.claim(SlotGpu.of(subtask, List.of(), List.of(), false), 4);
            assertThat(c.ordinal()).isEqualTo(subtask);
        }
        assertThat(claims.holders(2)).containsExactly(2);
    }

    @Test
    void aSlotFindingEveryGpuHeldFailsNamingTheHoldersAndTheOption() throws Exception {
        claims.claim(SlotGpu.of(1, List.of(), List.of(), false), 2);
        claims.claim(SlotGpu.of(2, List.of(), List.of(), false), 2);

        assertThatThrownBy(() -> claims.claim(SlotGpu.of(5, List.of(), List.of(), false), 2))
                .isInstanceOf(DeviceException.class)
                .hasMessage(
                        "subtask 5 found no free GPU among cuda:[1, 0] (from subtask index % GPU"
                                + " count): cuda:1 is held by subtask(s) [1] of this TaskManager,"
                                + " cuda:0 is held by subtask(s) [2] of this TaskManager; give each"
                                + " slot its own GPU or set warmstage.staging.gpu-shared: true");
        assertThat(claims.holders(1)).containsExactly(1);
    }

    @Test
    void theDefaultMappingFallsBackToAFreeGpuOfTheHost() throws Exception {
        // Subtasks 0 and 2 land on one TaskManager of a 2-GPU host: both prefer cuda:0.
        GpuClaims.Claim a = claims.claim(SlotGpu.of(0, List.of(), List.of(), false), 2);
        GpuClaims.Claim b = claims.claim(SlotGpu.of(2, List.of(), List.of(), false), 2);

        assertThat(a.ordinal()).isZero();
        assertThat(b.ordinal()).isEqualTo(1);
    }

    @Test
    void theConfiguredMappingFallsBackWithinTheConfiguredGpus() throws Exception {
        List<Integer> configured = List.of(2, 3);
        GpuClaims.Claim a = claims.claim(SlotGpu.of(1, List.of(), configured, false), 4);
        GpuClaims.Claim b = claims.claim(SlotGpu.of(3, List.of(), configured, false), 4);

        assertThat(a.ordinal()).isEqualTo(3);
        assertThat(b.ordinal()).isEqualTo(2);
        assertThatThrownBy(() -> claims.claim(SlotGpu.of(5, List.of(), configured, false), 4))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("no free GPU among cuda:[3, 2]");
    }

    @Test
    void registriesOfTwoJobsInOneJvmSeeEachOthersClaims() throws Exception {
        // Two jobs in one TaskManager load Warmstage in two class loaders: two registries.
        Path dir = Files.createTempDirectory("warmstage-gpu-locks");
        GpuClaims jobA = new GpuClaims(dir);
        GpuClaims jobB = new GpuClaims(dir);
        GpuClaims.Claim a = jobA.claim(SlotGpu.of(0, List.of(), List.of(), false), 2);

        GpuClaims.Claim b = jobB.claim(SlotGpu.of(0, List.of(), List.of(), false), 2);

        assertThat(a.ordinal()).isZero();
        assertThat(b.ordinal()).isEqualTo(1);
        assertThatThrownBy(() -> jobB.claim(SlotGpu.of(4, List.of(), List.of(), false), 2))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining(
                        "cuda:0 is held by another job or process on this host ("
                                + dir.resolve("cuda-0.lock")
                                + ")");
        a.close();
        assertThat(jobB.claim(SlotGpu.of(4, List.of(), List.of(), false), 2).ordinal()).isZero();
    }

    @Test
    void aGpuHeldByAnotherProcessIsSkippedAndFreedWhenThatProcessDies() throws Exception {
        Path dir = Files.createTempDirectory("warmstage-gpu-locks");
        Process other = GpuLockHolder.start(dir, 0);
        try {
            GpuClaims.Claim c =
                    new GpuClaims(dir).claim(SlotGpu.of(0, List.of(), List.of(), false), 2);
            assertThat(c.ordinal()).isEqualTo(1);
        } finally {
            other.destroyForcibly().waitFor();
        }
        GpuClaims.Claim after =
                new GpuClaims(dir).claim(SlotGpu.of(0, List.of(), List.of(), false), 2);
        assertThat(after.ordinal()).isZero();
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
                        "subtask 4 found no free GPU among cuda:[2, 3] (from the TaskManager's"
                                + " 'gpu' external resources [2, 3]): cuda:2 is held by subtask(s)"
                                + " [0]");
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
