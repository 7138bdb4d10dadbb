package io.warmstage.format;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Fuzz run of the header parser over mutated real files: a bounded run in the test suite ({@link
 * HeaderParserFuzzTest}), a long one outside CI with {@code bench/fuzz-format.sh [tries] [seed]}. A
 * failure is an exception other than SafetensorsException, or a parsed header that breaks a rule.
 */
public final class FormatFuzzMain {
    private FormatFuzzMain() {}

    /** What a run found: inputs tried, parsed, rejected, and one line per failure. */
    record Result(long seed, long tried, long parsed, long rejected, List<String> failures) {
        @Override
        public String toString() {
            return String.format(
                    "seed %d: tried %d, parsed %d, rejected %d, failures %d",
                    seed, tried, parsed, rejected, failures.size());
        }
    }

    /** Prints the inputs tried, parsed and rejected, and every failure; exits 1 on failure. */
    public static void main(String[] args) {
        long tries = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000L;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : System.nanoTime();
        Result r = run(seed, tries, Long.MAX_VALUE);
        r.failures().forEach(System.out::println);
        System.out.println(r);
        System.exit(r.failures().isEmpty() ? 0 : 1);
    }

    /**
     * Tries up to {@code tries} mutants (1 to 3 mutations of one real file each), stopping early at
     * {@code deadlineNanos} ({@link System#nanoTime()}).
     */
    static Result run(long seed, long tries, long deadlineNanos) {
        Random random = new Random(seed);
        Mutations.Kind[] kinds = Mutations.Kind.values();
        long parsed = 0;
        long rejected = 0;
        long i = 0;
        List<String> failures = new ArrayList<>();
        for (; i < tries && (i % 64 != 0 || System.nanoTime() < deadlineNanos); i++) {
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
                    failures.add("FAIL try " + i + " file " + file + ": " + broken);
                } else {
                    parsed++;
                }
            } catch (SafetensorsException e) {
                rejected++;
            } catch (RuntimeException | Error e) {
                failures.add("FAIL try " + i + " file " + file + ": " + e);
            }
        }
        return new Result(seed, i, parsed, rejected, failures);
    }
}
