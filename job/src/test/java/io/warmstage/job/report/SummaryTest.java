package io.warmstage.job.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.staging.StagingEvent;
import org.junit.jupiter.api.Test;

class SummaryTest {
    private static StagingEvent model(String name, int slot, String status) {
        StagingEvent e = new StagingEvent();
        e.event = StagingEvent.MODEL;
        e.model = name;
        e.slot = slot;
        e.status = status;
        return e;
    }

    private static String modelsLine(Summary s) {
        var bytes = new java.io.ByteArrayOutputStream();
        s.print(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        return bytes.toString(java.nio.charset.StandardCharsets.UTF_8)
                .lines()
                .filter(l -> l.trim().startsWith("models"))
                .findFirst()
                .orElseThrow()
                .trim();
    }

    @Test
    void aModelsStateIsEachSlotsLatestEvent() {
        Summary s = new Summary();
        s.add(model("b", 0, "failed"));
        s.add(model("b", 1, "staged"));
        assertThat(modelsLine(s)).isEqualTo("models    0 staged, 1 failed"); // slot 0 failed
        s.add(model("b", 0, "staged")); // a refresh staged it again there
        assertThat(modelsLine(s)).isEqualTo("models    1 staged, 0 failed");
        s.add(model("b", 1, "failed"));
        assertThat(modelsLine(s)).isEqualTo("models    0 staged, 1 failed");
    }
}
