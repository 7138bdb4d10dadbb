package io.warmstage.device;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A second process that claims one GPU in a lock directory and holds it until killed: {@code
 * GpuLockHolder DIR ORDINAL} prints {@code held} once the claim is taken.
 */
public final class GpuLockHolder {
    private GpuLockHolder() {}

    public static void main(String[] args) throws Exception {
        int ordinal = Integer.parseInt(args[1]);
        new GpuClaims(Path.of(args[0]))
                .claim(SlotGpu.of(ordinal, List.of(), List.of(ordinal), false), ordinal + 1);
        System.out.println("held");
        System.out.flush();
        System.in.read(); // until the test kills this process
    }

    /** Starts a holder of {@code ordinal} on this test's class path; returns once it holds it. */
    static Process start(Path dir, int ordinal) throws IOException {
        Process p =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                GpuLockHolder.class.getName(),
                                dir.toString(),
                                Integer.toString(ordinal))
                        .redirectErrorStream(true)
                        .start();
        BufferedReader out =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (!"held".equals(line)) {
            p.destroyForcibly();
            throw new IOException("lock holder did not start: " + line);
        }
        return p;
    }
}
