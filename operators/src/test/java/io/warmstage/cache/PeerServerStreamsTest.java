package io.warmstage.cache;

import static io.warmstage.cache.PeerServerFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerServerStreamsTest {
    @TempDir Path dir;

    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 0);

    private static void send(Socket s, String req) throws Exception {
        s.getOutputStream().write(req.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    private static String get(String key, String extra) {
        return "GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
    }

    @Test
    void pipelinedRequestsAreAnsweredCompleteAndInOrder() throws Exception {
        String key = entry(dir, "a", 5L << 20 | 12345, true);
        Path f = data(dir, key);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            String all =
                    get(key, "")
                            + get(key, "Range: bytes=100-2000000\r\n")
                            + get("f".repeat(64), "")
                            + "HEAD /v1/entries/"
                            + key
                            + " HTTP/1.1\r\nHost: x\r\n\r\n"
                            + get(key, "Range: bytes=-777\r\n")
                            + get(key, "If-Match: \"nope\"\r\n")
                            + get(key, "Range: bytes=999999999-\r\n")
                            + get(key + ".json", "")
                            + get(key, "Range: bytes=3000000-\r\n");
            send(s, all);
            InputStream in = s.getInputStream();
            long size = java.nio.file.Files.size(f);
            Answer a = read(in, false);
            assertEquals(200, a.status());
            assertArrayEquals(range(f, 0, size), a.body());
            a = read(in, false);
            assertEquals(206, a.status());
            assertArrayEquals(range(f, 100, 2000001), a.body());
            a = read(in, false);
            assertEquals(404, a.status());
            a = read(in, true);
            assertEquals(200, a.status());
            assertEquals(size, a.contentLength());
            a = read(in, false);
            assertEquals(206, a.status());
            assertArrayEquals(range(f, size - 777, size), a.body());
            a = read(in, false);
            assertEquals(412, a.status());
            a = read(in, false);
            assertEquals(416, a.status());
            assertEquals("bytes */" + size, a.headers().get("content-range"));
            a = read(in, false);
            assertEquals(200, a.status());
            assertEquals('{', a.body()[0]);
            a = read(in, false);
            assertEquals(206, a.status());
            assertArrayEquals(range(f, 3000000, size), a.body());
        }
    }

    @Test
    void headThenGetOnOneConnectionHaveNoStrayBody() throws Exception {
        String key = entry(dir, "a", 3 << 20, true);
        Path f = data(dir, key);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            for (String r :
                    new String[] {
                        "",
                        "Range: bytes=5-10\r\n",
                        "If-Match: \"x\"\r\n",
                        "Range: bytes=99999999-\r\n"
                    }) {
                send(s, "HEAD /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n" + r + "\r\n");
                Answer h = read(in, true);
                send(s, get(key, "Range: bytes=7-20\r\n"));
                Answer g = read(in, false);
                assertEquals(206, g.status(), "after HEAD with [" + r + "] answered " + h.status());
                assertArrayEquals(range(f, 7, 21), g.body());
            }
            send(
                    s,
                    "HEAD /v1/entries/"
                            + key
                            + " HTTP/1.1\r\nHost: x\r\nRange: bytes=5-10\r\n\r\n");
            assertEquals(6, read(in, true).contentLength());
        }
    }

    @Test
    void abortedAndResetClientsLeakNoFileOrBuffer() throws Exception {
        String key = entry(dir, "b", 256L << 20, false);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 4)) {
            int port = server.address().getPort();
            // warm up pools
            try (Socket s = new Socket("127.0.0.1", port)) {
                send(s, get(key, "Range: bytes=0-3000000\r\nConnection: close\r\n"));
                read(s.getInputStream(), false);
            }
            Thread.sleep(300);
            System.gc();
            Thread.sleep(300);
            long d0 = direct();
            for (int round = 0; round < 4; round++) {
                List<Socket> socks = new ArrayList<>();
                for (int i = 0; i < 25; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.setReceiveBufferSize(32 << 10);
                    send(s, get(key, ""));
                    socks.add(s);
                }
                for (int i = 0; i < socks.size(); i++) {
                    Socket s = socks.get(i);
                    s.getInputStream().readNBytes(100_000 + i * 1000);
                    if (i % 2 == 0) {
                        s.setSoLinger(true, 0); // RST
                    } else {
                        s.shutdownOutput();
                    }
                    s.close();
                }
            }
            long left = awaitFds(dir, 0, 10_000);
            assertEquals(0, left, "data files left open after 100 cut answers");
            System.gc();
            Thread.sleep(500);
            long d1 = direct();
            // the pool keeps the buffers of the 25 answers that were in flight at once (1 MiB each)
            // for
            // reuse; a leak of one per cut answer would be 100 MiB
            assertTrue(
                    d1 - d0 < (25L << 20) + (8L << 20),
                    "direct memory grew by " + (d1 - d0) + " after 100 cut answers");
            // and the server still answers right
            Path f = data(dir, key);
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(5000);
                send(s, get(key, "Range: bytes=10-20\r\nConnection: close\r\n"));
                assertArrayEquals(range(f, 10, 21), read(s.getInputStream(), false).body());
            }
        }
    }

    @Test
    void aTruncatedDataFileCutsTheConnectionPromptly() throws Exception {
        String key = entry(dir, "c", 64L << 20, true);
        Path f = data(dir, key);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setReceiveBufferSize(32 << 10);
            s.setSoTimeout(15_000);
            send(s, get(key, ""));
            InputStream in = s.getInputStream();
            Answer a = readHead(in);
            assertEquals(200, a.status());
            byte[] first = in.readNBytes(2 << 20);
            try (var ch =
                    java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(5 << 20);
            }
            long t0 = System.nanoTime();
            byte[] rest = in.readAllBytes(); // must end (cut), not stall to the idle timeout
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(first.length + rest.length < a.contentLength(), "short body looks complete");
            assertTrue(ms < 5000, "cut after " + ms + " ms");
            byte[] got = new byte[first.length + rest.length];
            System.arraycopy(first, 0, got, 0, first.length);
            System.arraycopy(rest, 0, got, first.length, rest.length);
            assertArrayEquals(
                    range(f, 0, Math.min(got.length, 5 << 20)),
                    java.util.Arrays.copyOf(got, Math.min(got.length, 5 << 20)));
            assertEquals(0, awaitFds(dir, 0, 5000));
            // server still serves
            try (Socket t = new Socket("127.0.0.1", server.address().getPort())) {
                t.setSoTimeout(5000);
                send(
                        t,
                        "GET /v1/entries/"
                                + key
                                + ".json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                assertEquals(404, read(t.getInputStream(), false).status());
            }
        }
    }

    @Test
    void closeWithBodiesInFlightLeavesNoThreadFileOrPort() throws Exception {
        String key = entry(dir, "e", 256L << 20, false);
        PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 4);
        int port = server.address().getPort();
        List<Socket> socks = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.setReceiveBufferSize(32 << 10);
                send(s, get(key, ""));
                socks.add(s);
            }
            for (Socket s : socks) {
                s.getInputStream().readNBytes(50_000);
            }
            Thread.sleep(300);
            long t0 = System.nanoTime();
            server.close();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 3000, "close took " + ms + " ms");
            long deadline = System.currentTimeMillis() + 3000;
            while (threads("warmstage-peer-cache") > 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(0, threads("warmstage-peer-cache"), "serving threads left running");
            assertEquals(0, awaitFds(dir, 0, 3000), "data files left open after close()");
            try (ServerSocket again = new ServerSocket()) {
                again.bind(new InetSocketAddress("127.0.0.1", port));
            }
        } finally {
            for (Socket s : socks) {
                s.close();
            }
            server.close();
        }
    }

    @Test
    void sixtyFourClientsReadingRandomRangesGetTheFilesBytes() throws Exception {
        long size = 24L << 20;
        String key = entry(dir, "1", size, true);
        Path f = data(dir, key);
        byte[] whole = range(f, 0, size);
        ExecutorService ex = Executors.newFixedThreadPool(64);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 4)) {
            int port = server.address().getPort();
            List<Future<String>> fs = new ArrayList<>();
            for (int c = 0; c < 64; c++) {
                int seed = c;
                fs.add(
                        ex.submit(
                                () -> {
                                    Random r = new Random(seed);
                                    try (Socket s = new Socket("127.0.0.1", port)) {
                                        s.setSoTimeout(20_000);
                                        InputStream in = s.getInputStream();
                                        for (int i = 0; i < 6; i++) {
                                            long a = (long) (r.nextDouble() * size);
                                            long len = 1 + r.nextInt(3 << 20);
                                            long b = Math.min(size - 1, a + len - 1);
                                            send(
                                                    s,
                                                    get(
                                                            key,
                                                            "Range: bytes="
                                                                    + a
                                                                    + "-"
                                                                    + b
                                                                    + "\r\n"));
                                            Answer ans = read(in, false);
                                            if (ans.status() != 206)
                                                return "status " + ans.status();
                                            if (!java.util.Arrays.equals(
                                                    whole,
                                                    (int) a,
                                                    (int) b + 1,
                                                    ans.body(),
                                                    0,
                                                    ans.body().length)) {
                                                return "bytes differ for " + a + "-" + b;
                                            }
                                        }
                                    }
                                    return null;
                                }));
            }
            for (Future<String> fu : fs) {
                assertNull(fu.get(60, TimeUnit.SECONDS));
            }
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void oneThreadManySlowReadersProbesAnsweredWithinTwoSeconds() throws Exception {
        String key = entry(dir, "2", 256L << 20, false);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 1)) {
            int port = server.address().getPort();
            List<Socket> socks = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            try {
                for (int i = 0; i < 40; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.setReceiveBufferSize(16 << 10);
                    send(s, get(key, ""));
                    socks.add(s);
                    Thread t =
                            new Thread(
                                    () -> {
                                        try {
                                            InputStream in = s.getInputStream();
                                            byte[] b = new byte[4096];
                                            while (in.read(b) > 0) {
                                                Thread.sleep(5);
                                            }
                                        } catch (Exception e) {
                                            // closed
                                        }
                                    });
                    t.setDaemon(true);
                    t.start();
                    readers.add(t);
                }
                Thread.sleep(1000);
                for (int p = 0; p < 10; p++) {
                    long t0 = System.nanoTime();
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        s.setSoTimeout(2000);
                        send(s, get(key, "Range: bytes=0-9\r\nConnection: close\r\n"));
                        Answer a = read(s.getInputStream(), false);
                        assertEquals(206, a.status());
                    }
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(ms < 2000, "probe " + p + " took " + ms);
                }
            } finally {
                for (Socket s : socks) s.close();
            }
        }
    }

    @Test
    void aClientThatNeverReadsIsDroppedAtTheIdleTimeoutAndItsFileClosed() throws Exception {
        String key = entry(dir, "3", 256L << 20, false);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setReceiveBufferSize(16 << 10);
            send(s, get(key, ""));
            Thread.sleep(1000);
            assertEquals(1, fdsInto(dir));
            long left = awaitFds(dir, 0, PeerCacheServer.IDLE_TIMEOUT.toMillis() + 10_000);
            assertEquals(0, left, "data file still open past the idle timeout");
        }
    }
}
