package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slot directory a live device owns stays owned for the other processes of the host, however
 * often this process asks: checking must not drop the owner's lock (on Linux, closing any
 * descriptor of a file releases every POSIX lock the process holds on it).
 */
class HostDeviceOwnershipProcessTest {
    @TempDir Path dir;

    @Test
    void askingInTheOwnersProcessKeepsTheDirectoryOwnedForOthers() throws Exception {
        Path slot = dir.resolve("slot-0");
        try (HostDevice device = new HostDevice(slot, StagingArea.unbounded(dir))) {
            assertThat(HostDevice.owned(slot)).as("this process").isTrue();
            assertThat(HostDevice.owned(slot)).as("asked again").isTrue();
            assertThat(ownedSeenByAnotherProcess(slot)).as("another process").isTrue();
        }
        assertThat(ownedSeenByAnotherProcess(slot)).as("after the device closed").isFalse();
    }

    private static boolean ownedSeenByAnotherProcess(Path slot) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p =
                new ProcessBuilder(
                                java.toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                OwnedCheck.class.getName(),
                                slot.toString())
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return Boolean.parseBoolean(line);
        } finally {
            p.destroyForcibly();
        }
    }
}
