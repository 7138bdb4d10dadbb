package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
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
        return Boolean.parseBoolean(
                io.warmstage.testing.JavaProcess.firstLine(OwnedCheck.class, slot.toString()));
    }
}
