package io.warmstage.cache;

import static io.warmstage.cache.PeerServerFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerServerConnectionsTest {
    @TempDir Path dir;
    @TempDir Path other;

    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 0);

    private static void send(Socket s, String req) throws Exception {
        s.getOutputStream().write(req.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    private static String get(String key, String extra) {
        return "GET /v1/entries/" + key + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
    }

    @Test
    void theOneMiBBodyBufferIsActuallyPooled() throws Exception {
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2)) {
            var f = PeerCacheServer.class.getDeclaredField("server");
            f.setAccessible(true);
            var pool = ((org.eclipse.jetty.server.Server) f.get(server)).getByteBufferPool();
            var buf = pool.acquire(1 << 20, true);
            long before =
                    java.lang.management.ManagementFactory.getPlatformMXBeans(
                                    java.lang.management.BufferPoolMXBean.class)
                            .stream()
                            .filter(x -> x.getName().equals("direct"))
                            .findFirst()
                            .orElseThrow()
                            .getCount();
            buf.release();
            var again = pool.acquire(1 << 20, true);
            boolean reused = again.getByteBuffer() == buf.getByteBuffer();
            again.release();
            // class doc: "An answer being sent holds one pooled 1 MiB direct buffer"
            assertTrue(
                    reused, "a released 1 MiB buffer is not reused by the server's pool: " + pool);
        }
    }

    @Test
    void ifRangeWithAStaleSidecarTagAnswersTheWholeSidecar() throws Exception {
        String key = entry(dir, "b", 100, true);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            send(s, get(key + ".json", "Range: bytes=0-9\r\nIf-Range: \"" + key + "-0\"\r\n"));
            Answer a = read(s.getInputStream(), false);
            // RFC 9110 section 13.2.2 step 5 / 13.1.5: a validator that does not match means
            // the Range header is ignored and the whole representation is sent with 200
            assertEquals(200, a.status(), "If-Range with another tag answered " + a.headers());
        }
    }

    @Test
    void aFailedStartLeavesNoThreads() throws Exception {
        try (ServerSocket taken =
                new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            long before = threads("warmstage-peer-cache");
            assertThrows(
                    java.net.BindException.class,
                    () ->
                            PeerCacheServer.start(
                                    dir,
                                    new InetSocketAddress("127.0.0.1", taken.getLocalPort()),
                                    2));
            Thread.sleep(1000);
            assertEquals(before, threads("warmstage-peer-cache"));
        }
    }

    @Test
    void aGetWithABodyDoesNotDerailTheNextPipelinedRequest() throws Exception {
        String key = entry(dir, "c", 4096, true);
        Path f = data(dir, key);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setSoTimeout(10_000);
            send(
                    s,
                    get(key, "Range: bytes=0-3\r\nContent-Length: 5\r\n")
                            + "HELLO"
                            + get(key, "Range: bytes=4-7\r\n"));
            InputStream in = s.getInputStream();
            assertArrayEquals(range(f, 0, 4), read(in, false).body());
            assertArrayEquals(range(f, 4, 8), read(in, false).body());
        }
    }

    @Test
    void anEntryReplacedByRenameMidBodyGivesTheOldBytesWholeOrACut() throws Exception {
        long size = 32L << 20;
        String key = entry(dir, "d", size, true);
        Path f = data(dir, key);
        byte[] old = range(f, 0, size);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setReceiveBufferSize(32 << 10);
            s.setSoTimeout(15_000);
            send(s, get(key, ""));
            InputStream in = s.getInputStream();
            Answer a = readHead(in);
            byte[] first = in.readNBytes(1 << 20);
            // another entry's bytes under the key, moved in as PendingEntry does
            String k2 = entry(other, "d", size + 7, true);
            Files.move(
                    data(other, k2),
                    f,
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            byte[] rest = in.readNBytes((int) a.contentLength() - first.length);
            byte[] got = new byte[first.length + rest.length];
            System.arraycopy(first, 0, got, 0, first.length);
            System.arraycopy(rest, 0, got, first.length, rest.length);
            assertArrayEquals(java.util.Arrays.copyOf(old, got.length), got);
        }
        assertEquals(0, awaitFds(dir, 0, 5000));
    }

    @Test
    void aDeletedDataFileMidBodyCompletesWithTheOldBytesAndIsClosed() throws Exception {
        long size = 32L << 20;
        String key = entry(dir, "e", size, true);
        Path f = data(dir, key);
        byte[] old = range(f, 0, size);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2);
                Socket s = new Socket("127.0.0.1", server.address().getPort())) {
            s.setReceiveBufferSize(32 << 10);
            s.setSoTimeout(15_000);
            send(s, get(key, ""));
            InputStream in = s.getInputStream();
            Answer a = readHead(in);
            byte[] first = in.readNBytes(1 << 20);
            Files.delete(f);
            assertEquals(1, fdsInto(dir), "the deleted file is still held open mid-body");
            byte[] rest = in.readNBytes((int) size - first.length);
            byte[] got = new byte[first.length + rest.length];
            System.arraycopy(first, 0, got, 0, first.length);
            System.arraycopy(rest, 0, got, first.length, rest.length);
            assertArrayEquals(old, got);
        }
        assertEquals(0, awaitFds(dir, 0, 5000));
    }

    @Test
    void afterTheConnectionLimitIsReachedAndFreedProbesAreAnsweredAgain() throws Exception {
        String key = entry(dir, "f", 100, true);
        try (PeerCacheServer server = PeerCacheServer.start(dir, LOCAL, 2)) {
            int port = server.address().getPort();
            List<Socket> idle = new ArrayList<>();
            try {
                for (int i = 0; i < PeerCacheServer.MAX_CONNECTIONS + 20; i++) {
                    idle.add(new Socket("127.0.0.1", port));
                }
                Thread.sleep(500);
                long t0 = System.nanoTime();
                try (Socket p = new Socket("127.0.0.1", port)) {
                    p.setSoTimeout(2000);
                    send(p, get(key, "Connection: close\r\n"));
                    String r;
                    try {
                        r = "status " + read(p.getInputStream(), false).status();
                    } catch (java.net.SocketTimeoutException e) {
                        r = "no answer in 2 s";
                    }
                    System.out.println(
                            "peer server: probe while " + idle.size() + " idle connections: " + r);
                }
            } finally {
                for (Socket s : idle) s.close();
            }
            Thread.sleep(1000);
            try (Socket p = new Socket("127.0.0.1", port)) {
                p.setSoTimeout(3000);
                send(p, get(key, "Connection: close\r\n"));
                assertEquals(200, read(p.getInputStream(), false).status());
            }
        }
    }
}
