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

    private static StagingEvent failedFile(String file, int slot, String host, String reason) {
        StagingEvent e = new StagingEvent();
        e.event = StagingEvent.FILE;
        e.file = file;
        e.slot = slot;
        e.host = host;
        e.status = "failed";
        e.reason = reason;
        return e;
    }

    @Test
    void aFileThatFailedOnEverySlotOfAFleetIsOneLineNamingTheHosts() {
        Summary s = new Summary();
        for (int slot = 0; slot < 8; slot++) {
            s.add(failedFile("http://h/m.safetensors", slot, "tm-" + slot / 2, "HTTP 404"));
            s.add(model("m", slot, "failed"));
        }
        s.add(failedFile("http://h/other.safetensors", 3, "tm-1", "HTTP 403"));

        assertThat(s.failureLines())
                .containsExactly(
                        "  FAILED http://h/m.safetensors: HTTP 404 (on 8 slots of hosts tm-0,"
                                + " tm-1, tm-2, tm-3)",
                        "  FAILED http://h/other.safetensors: HTTP 403 (on slot 3)");
    }

    @Test
    void onASingleSlotAFailureNamesNoSlot() {
        Summary s = new Summary();
        s.add(failedFile("file:/m.safetensors", 0, null, "bad header"));
        s.add(model("m", 0, "failed"));
        assertThat(s.failureLines()).containsExactly("  FAILED file:/m.safetensors: bad header");
    }
}
