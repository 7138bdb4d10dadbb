package io.warmstage.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A second JVM on this test's class path: what another process of the host sees. */
public final class JavaProcess {
    private JavaProcess() {}

    /** Starts {@code main} with {@code args}; its stderr goes to this process's. */
    public static Process start(Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /**
     * Runs {@code main} with {@code args} to its end (at most 60 seconds) and returns the first
     * line it printed, or null if none.
     */
    public static String firstLine(Class<?> main, String... args) throws Exception {
        Process p = start(main, args);
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ended", main.getName()).isTrue();
            return line;
        } finally {
            p.destroyForcibly();
        }
    }
}
