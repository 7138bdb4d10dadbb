package io.warmstage.job.gpucheck;

import java.nio.file.Path;

/**
 * The GPU check's command line.
 *
 * @param dryRun run on the cpu device, without CUDA
 * @param sizeBytes target size of the model's data section in bytes
 * @param dir directory for the model file
 * @param device the device spec: {@code cuda} or {@code cuda:N}
 * @param recordBytes record size of the staged path in bytes (4 MiB, as the job's records)
 * @param keep keep the model file afterwards
 */
record CheckArgs(
        boolean dryRun, long sizeBytes, Path dir, String device, int recordBytes, boolean keep) {
    private static final long MIB = 1 << 20;

    /**
     * Parses {@code [--dry-run] [--size-mib N] [--dir DIR] [--device SPEC] [--record-mib N]
     * [--keep]}. Defaults: 4096 MiB (64 MiB with {@code --dry-run}), {@code $TMPDIR} or {@code
     * /tmp}, {@code cuda}, 4 MiB.
     *
     * @throws IllegalArgumentException for an unknown flag or a bad number, with a usage line
     */
    static CheckArgs parse(String[] argv) {
        boolean dryRun = false;
        boolean keep = false;
        long sizeMib = -1;
        long recordMib = 4;
        String tmp = System.getenv().getOrDefault("TMPDIR", "/tmp");
        Path dir = Path.of(tmp, "warmstage-gpu-check");
        String device = "cuda";
        for (int i = 0; i < argv.length; i++) {
            switch (argv[i]) {
                case "--dry-run" -> dryRun = true;
                case "--keep" -> keep = true;
                case "--size-mib" -> sizeMib = positive(argv, ++i);
                case "--record-mib" -> recordMib = positive(argv, ++i);
                case "--dir" -> dir = Path.of(value(argv, ++i));
                case "--device" -> device = value(argv, ++i);
                default -> throw usage("unknown argument '" + argv[i] + "'");
            }
        }
        if (recordMib > 1024) {
            throw usage("--record-mib must be 1024 or less");
        }
        long size = (sizeMib < 0 ? (dryRun ? 64 : 4096) : sizeMib) * MIB;
        return new CheckArgs(dryRun, size, dir, device, (int) (recordMib * MIB), keep);
    }

    private static String value(String[] argv, int i) {
        if (i >= argv.length) {
            throw usage(argv[i - 1] + " needs a value");
        }
        return argv[i];
    }

    private static long positive(String[] argv, int i) {
        String v = value(argv, i);
        try {
            long n = Long.parseLong(v);
            if (n > 0 && n <= (1L << 24)) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw usage(argv[i - 1] + " needs a whole number of MiB, 1 or more, not '" + v + "'");
    }

    private static IllegalArgumentException usage(String why) {
        return new IllegalArgumentException(
                why
                        + "; usage: GpuCheck [--dry-run] [--size-mib N] [--dir DIR]"
                        + " [--device cuda|cuda:N] [--record-mib N] [--keep]");
    }
}
