import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Positional writes into tmpfs from direct buffers, as the cpu device's staging files take them:
 * one thread, two threads on one file (each 4 MiB write cut in halves), two threads on two files.
 * Why the cpu device writes each file on one lane and several files in parallel.
 *
 * <p>Usage: {@code java bench/TmpfsWrites.java [DIR] [GiB] [rounds]} (default /dev/shm, 4 GiB, 3
 * rounds; the arms alternate within each round). Prints GB/s (10^9 bytes per second) per arm and
 * round. Each file is deleted after its arm.
 */
public class TmpfsWrites {
    private static final int CHUNK = 4 << 20;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "/dev/shm");
        long total = (args.length > 1 ? Long.parseLong(args[1]) : 4) << 30;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 1; round <= rounds; round++) {
                for (String arm : List.of("one-thread", "two-threads-one-file", "two-threads-two-files")) {
                    long started = System.nanoTime();
                    List<Path> files = run(arm, dir, total, pool);
                    double seconds = (System.nanoTime() - started) / 1e9;
                    for (Path f : files) {
                        Files.delete(f);
                    }
                    System.out.printf("round %d %-22s %.2f GB/s%n", round, arm, total / 1e9 / seconds);
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    private static List<Path> run(String arm, Path dir, long total, ExecutorService pool)
            throws Exception {
        switch (arm) {
            case "one-thread" -> {
                Path f = dir.resolve("tmpfs-writes-0");
                write(f, 0, total, 0, CHUNK);
                return List.of(f);
            }
            case "two-threads-one-file" -> {
                Path f = dir.resolve("tmpfs-writes-0");
                int half = CHUNK / 2;
                Future<?> other = pool.submit(() -> write(f, 0, total, half, half));
                write(f, 0, total, 0, half);
                other.get();
                return List.of(f);
            }
            default -> {
                List<Path> files = new ArrayList<>();
                List<Future<?>> running = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    Path f = dir.resolve("tmpfs-writes-" + i);
                    files.add(f);
                    running.add(pool.submit(() -> write(f, 0, total / 2, 0, CHUNK)));
                }
                for (Future<?> r : running) {
                    r.get();
                }
                return files;
            }
        }
    }

    /** Writes {@code [from, to)} of {@code file} in 4 MiB steps, {@code length} bytes at {@code skip} into each. */
    private static Void write(Path file, long from, long to, int skip, int length) throws Exception {
        ByteBuffer src = ByteBuffer.allocateDirect(length);
        while (src.hasRemaining()) {
            src.put((byte) 7);
        }
        try (FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long off = from; off < to; off += CHUNK) {
                ByteBuffer b = src.clear();
                for (long pos = off + skip; b.hasRemaining(); ) {
                    pos += ch.write(b, pos);
                }
            }
        }
        return null;
    }
}
