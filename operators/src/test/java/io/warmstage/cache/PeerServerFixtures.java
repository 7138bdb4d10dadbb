package io.warmstage.cache;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Helpers for the peer server tests: raw HTTP/1.1 answers, entries, fd and direct-memory counts.
 */
final class PeerServerFixtures {
    static final URI ORIGIN = URI.create("https://origin.example/models/m/model.safetensors");

    private PeerServerFixtures() {}

    /** Writes an entry by hand (sidecar + data); random bytes, or sparse when random is false. */
    static String entry(Path dir, String keyChar, long size, boolean random) throws IOException {
        String key = keyChar.repeat(64);
        Files.write(
                dir.resolve(key + LocalCache.SIDECAR_SUFFIX),
                LocalCache.JSON.writeValueAsBytes(
                        new CacheEntry(
                                ORIGIN.toString(),
                                size,
                                "\"e\"",
                                null,
                                null,
                                "2024-01-01T00:00:00Z")));
        try (FileChannel ch =
                FileChannel.open(
                        dir.resolve(key + LocalCache.DATA_SUFFIX),
                        StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
            if (random) {
                Random r = new Random(size ^ key.hashCode());
                byte[] b = new byte[1 << 20];
                for (long pos = 0; pos < size; ) {
                    r.nextBytes(b);
                    int n = (int) Math.min(b.length, size - pos);
                    ch.write(ByteBuffer.wrap(b, 0, n), pos);
                    pos += n;
                }
            } else if (size > 0) {
                ch.write(ByteBuffer.wrap(new byte[] {1}), size - 1);
            }
        }
        return key;
    }

    static Path data(Path dir, String key) {
        return dir.resolve(key + LocalCache.DATA_SUFFIX);
    }

    /** One parsed answer. */
    record Answer(int status, Map<String, String> headers, byte[] body) {
        long contentLength() {
            return Long.parseLong(headers.getOrDefault("content-length", "-1"));
        }
    }

    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        throw new EOFException("connection ended in a head: " + b);
    }

    static Answer readHead(InputStream in) throws IOException {
        String statusLine = readLine(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> h = new LinkedHashMap<>();
        for (String line; !(line = readLine(in)).isEmpty(); ) {
            int i = line.indexOf(':');
            h.put(
                    line.substring(0, i).trim().toLowerCase(Locale.ROOT),
                    line.substring(i + 1).trim());
        }
        return new Answer(status, h, null);
    }

    /** Reads one answer; the body is read by Content-Length unless head. */
    static Answer read(InputStream in, boolean head) throws IOException {
        Answer a = readHead(in);
        if (head) {
            return new Answer(a.status, a.headers, new byte[0]);
        }
        long n = a.contentLength();
        if (n < 0) {
            throw new IOException("no Content-Length: " + a.headers);
        }
        byte[] body = in.readNBytes((int) n);
        if (body.length != n) {
            throw new EOFException("body cut at " + body.length + " of " + n);
        }
        return new Answer(a.status, a.headers, body);
    }

    static byte[] range(Path file, long from, long toExclusive) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate((int) (toExclusive - from));
            while (b.hasRemaining()) {
                if (ch.read(b, from + b.position()) < 0) {
                    break;
                }
            }
            return b.array();
        }
    }

    /** Open fds of this process that point into dir. */
    static long fdsInto(Path dir) throws IOException {
        String prefix = dir.toRealPath().toString();
        long n = 0;
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try {
                    if (Files.readSymbolicLink(p).toString().startsWith(prefix)) {
                        n++;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return n;
    }

    static long direct() {
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                return b.getMemoryUsed();
            }
        }
        return -1;
    }

    static long threads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix))
                .count();
    }

    /** Waits up to ms for fdsInto(dir) to reach want; returns the last count. */
    static long awaitFds(Path dir, long want, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        long n;
        while ((n = fdsInto(dir)) > want && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        return n;
    }
}
