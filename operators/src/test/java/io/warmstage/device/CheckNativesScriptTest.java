package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/check-natives.sh on a natives-style jar made of this machine's own libraries: zlib needs
 * only libc (passes), libssl needs libcrypto (fails, named).
 */
class CheckNativesScriptTest {
    private static final Path SCRIPT = Path.of("..", "scripts", "check-natives.sh");
    private static final Path LIBS = Path.of("/lib/x86_64-linux-gnu");

    @TempDir Path dir;

    @Test
    void aLibraryNeedingOnlyTheBaseLibrariesPassesAndOneNeedingMoreFailsNamingIt()
            throws Exception {
        Path zlib = LIBS.resolve("libz.so.1");
        Path ssl = LIBS.resolve("libssl.so.3");
        assumeTrue(Files.isReadable(zlib) && Files.isReadable(ssl), "no libz/libssl here");
        assumeTrue(run(List.of("bash", "-c", "command -v readelf && command -v unzip")).code == 0);
        Path jar = dir.resolve("natives.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            add(out, "lib/libJCudaDriver-12.0.0-linux-x86_64.so", zlib);
            add(out, "lib/libJCudaRuntime-12.0.0-linux-x86_64.so", ssl);
        }

        Result good = run(List.of("bash", SCRIPT.toString(), jar.toString(), "libJCudaDriver"));
        Result bad = run(List.of("bash", SCRIPT.toString(), jar.toString(), "libJCudaRuntime"));

        assertThat(good.code).as(good.output).isZero();
        assertThat(good.output).contains("libJCudaDriver-12.0.0-linux-x86_64.so: needs libc.so.6");
        assertThat(bad.code).isEqualTo(1);
        assertThat(bad.output)
                .contains(
                        "libJCudaRuntime-12.0.0-linux-x86_64.so needs libcrypto.so.3, which a GPU"
                                + " host is not known to have");
    }

    private static void add(JarOutputStream out, String name, Path file) throws Exception {
        out.putNextEntry(new JarEntry(name));
        out.write(Files.readAllBytes(file));
        out.closeEntry();
    }

    private record Result(int code, String output) {}

    private static Result run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            // no input
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), output);
    }
}
