package io.warmstage.cache;

import io.warmstage.testing.SharedData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** Shared helpers for the cache tests: a real origin file and shuffled ranges of it. */
final class CacheFixtures {
    private CacheFixtures() {}

    /** The largest real safetensors file in shared/data (about 1.4 MB). */
    static Path largestRealFile() {
        return SharedData.validFiles().stream()
                .max(Comparator.comparingLong(CacheFixtures::size))
                .orElseThrow();
    }

    /**
     * {@code [start, end)} pieces of random length 1..maxLen tiling {@code [0, size)}, shuffled.
     */
    static List<long[]> shuffledRanges(long size, int maxLen, long seed) {
        Random rnd = new Random(seed);
        List<long[]> ranges = new ArrayList<>();
        for (long pos = 0; pos < size; ) {
            long end = Math.min(size, pos + 1 + rnd.nextInt(maxLen));
            ranges.add(new long[] {pos, end});
            pos = end;
        }
        Collections.shuffle(ranges, rnd);
        return ranges;
    }

    static int crc32c(byte[] b) {
        CRC32C crc = new CRC32C();
        crc.update(b);
        return (int) crc.getValue();
    }

    /** Names of the entries in {@code dir} (not recursive). */
    static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
