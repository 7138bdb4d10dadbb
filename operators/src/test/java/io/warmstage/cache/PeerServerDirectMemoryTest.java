package io.warmstage.cache;

import static io.warmstage.cache.PeerServerFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class doc says an answer holds "one pooled 1 MiB direct buffer"; Jetty's default
 * ArrayByteBufferPool pools nothing above 64 KiB, so every data answer allocates a fresh 1 MiB
 * direct buffer that only a GC frees. In a JVM with a small direct-memory limit and explicit GC
 * disabled (a common production flag), sequential answers run out of direct memory.
 */
class PeerServerDirectMemoryTest {
    @TempDir Path dir;

    /** Child JVM: serves dir and asks it 400 times in sequence; prints "bad=N". */
    public static void main(String[] args) throws Exception {
        Path d = Path.of(args[0]);
        String key = args[1];
        int bad = 0;
        try (PeerCacheServer server =
                        PeerCacheServer.start(d, new InetSocketAddress("127.0.0.1", 0), 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            for (int i = 0; i < 400; i++) {
                s.getOutputStream()
                        .write(
                                ("GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n")
                                        .getBytes(StandardCharsets.ISO_8859_1));
                Answer a;
                try {
                    a = read(in, false);
                } catch (java.io.IOException e) {
                    System.out.println("cut at request " + i + ": " + e);
                    bad += 400 - i;
                    break;
                }
                if (a.status() != 200) {
                    bad++;
                    System.out.println("answer " + i + ": " + a.status());
                    if (bad >= 5) break;
                    if (!"close".equals(a.headers().get("connection"))) continue;
                    break;
                }
            }
        }
        System.out.println("bad=" + bad);
    }

    @Test
    void sequentialAnswersDoNotExhaustASmallDirectMemoryLimit() throws Exception {
        String key = entry(dir, "a", 2L << 20, false);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx512m");
        cmd.add("-XX:MaxDirectMemorySize=48m");
        cmd.add("-XX:+DisableExplicitGC");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PeerServerDirectMemoryTest.class.getName());
        cmd.add(dir.toString());
        cmd.add(key);
        Path log = Files.createTempFile("peer-server-child", ".log");
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish");
        } finally {
            p.destroyForcibly();
        }
        String out = Files.readString(log);
        System.out.println(
                "peer server: child: "
                        + out.lines()
                                .filter(
                                        l ->
                                                l.contains("bad=")
                                                        || l.contains("cut")
                                                        || l.contains("OutOfMemory"))
                                .limit(5)
                                .toList());
        assertTrue(
                out.contains("bad=0"),
                out.length() > 3000 ? out.substring(out.length() - 3000) : out);
    }
}
