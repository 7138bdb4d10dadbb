package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JCudaNativesTest {
    @TempDir Path dir;

    private URL library(byte[] bytes) throws Exception {
        Path jarEntry = dir.resolve("in-jar.so");
        Files.write(jarEntry, bytes);
        return jarEntry.toUri().toURL();
    }

    @Test
    void aTruncatedCopyLeftByAKilledRunIsReplaced() throws Exception {
        byte[] lib = PinnedRingTest.random(100_000, 1);
        Path extracted = dir.resolve("tmp/libJCudaDriver-12.0.0-linux-x86_64.so");
        Files.createDirectories(extracted.getParent());
        Files.write(extracted, Arrays.copyOf(lib, 40_000));

        String done = JCudaNatives.ensure(library(lib), extracted);

        assertThat(done).startsWith("replaced ");
        assertThat(Files.readAllBytes(extracted)).isEqualTo(lib);
        assertThat(Files.list(extracted.getParent())).containsExactly(extracted);
    }

    @Test
    void aCopyOfTheRightSizeButOtherBytesIsReplaced() throws Exception {
        byte[] lib = PinnedRingTest.random(5_000, 2);
        Path extracted = dir.resolve("lib.so");
        Files.write(extracted, PinnedRingTest.random(5_000, 3));

        assertThat(JCudaNatives.ensure(library(lib), extracted)).startsWith("replaced ");
        assertThat(Files.readAllBytes(extracted)).isEqualTo(lib);
    }

    @Test
    void aWholeCopyIsKeptAndAMissingOneWritten() throws Exception {
        byte[] lib = PinnedRingTest.random(5_000, 4);
        Path extracted = dir.resolve("lib.so");

        assertThat(JCudaNatives.ensure(library(lib), extracted)).startsWith("written ");
        FileTime before = FileTime.fromMillis(1_000_000);
        Files.setLastModifiedTime(extracted, before);
        assertThat(JCudaNatives.ensure(library(lib), extracted)).startsWith("kept ");
        assertThat(Files.getLastModifiedTime(extracted)).isEqualTo(before);
        assertThat(Files.readAllBytes(extracted)).isEqualTo(lib);
    }

    @Test
    void withoutTheNativesJarNothingIsWritten() {
        // The build leaves jcuda-natives out (no GPU in CI).
        assertThat(JCudaNatives.ensureDriverLibrary())
                .isEqualTo("no libJCudaDriver-12.0.0-linux-x86_64.so on the class path");
    }
}
