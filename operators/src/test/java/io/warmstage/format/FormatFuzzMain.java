package io.warmstage.format;

import java.util.Random;

/**
 * Long fuzz run of the mutation property, outside CI: {@code bench/fuzz-format.sh [tries] [seed]}.
 * Prints the inputs tried, how many parsed and were rejected, and every failure (an exception other
 * than SafetensorsException, or a parsed header that breaks a rule); exits 1 on failure.
 */
public final class FormatFuzzMain {
    private FormatFuzzMain() {}

    public static void main(String[] args) {
        long tries = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000L;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : System.nanoTime();
        Random random = new Random(seed);
        Mutations.Kind[] kinds = Mutations.Kind.values();
        long parsed = 0;
        long rejected = 0;
        long failures = 0;
        for (long i = 0; i < tries; i++) {
            int file = random.nextInt(Mutations.REAL_FILES.size());
            byte[] bytes = Mutations.REAL_FILES.get(file);
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                bytes =
                        Mutations.mutate(
                                bytes,
                                kinds[random.nextInt(kinds.length)],
                                random.nextInt(),
                                random.nextInt(256),
                                random.nextLong());
            }
            try {
                String broken = Mutations.brokenRule(SafetensorsBytes.parse(bytes), bytes.length);
                if (broken != null) {
                    failures++;
                    System.out.println("FAIL try " + i + " file " + file + ": " + broken);
                } else {
                    parsed++;
                }
            } catch (SafetensorsException e) {
                rejected++;
            } catch (RuntimeException | Error e) {
                failures++;
                System.out.println("FAIL try " + i + " file " + file + ": " + e);
            }
        }
        System.out.printf(
                "seed %d: tried %d, parsed %d, rejected %d, failures %d%n",
                seed, tries, parsed, rejected, failures);
        System.exit(failures == 0 ? 0 : 1);
    }
}
