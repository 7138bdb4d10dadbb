package io.warmstage.job.cli;

import static io.warmstage.job.cli.StageCommandITCase.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.cli.StageCommandITCase.Run;
import io.warmstage.storage.RangeServer;
import org.junit.jupiter.api.Test;

/** A file that fails on every slot of a simulated fleet is listed once, with where it failed. */
class FleetFailureITCase {
    @Test
    void aFailedFileIsOneLineNamingItsHostsNotOnePerSlot() throws Exception {
        try (RangeServer origin = new RangeServer()) {
            String missing = origin.uri("/gone.safetensors").toString();
            Run run =
                    cli("stage", "--model", missing, "--task-managers", "2", "--slots-per-tm", "2");

            assertThat(run.code()).as(run.out() + run.err()).isEqualTo(1);
            assertThat(run.out().lines().filter(l -> l.contains("FAILED"))).hasSize(1);
            assertThat(run.out())
                    .contains("FAILED " + missing)
                    .contains("(on 4 slots of hosts host-0, host-1)");
            assertThat(run.out().lines().filter(l -> l.contains("model " + missing + " failed")))
                    .hasSize(1);
        }
    }
}
