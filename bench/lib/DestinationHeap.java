import java.util.ArrayList;
import java.util.List;

/**
 * Heap bytes per split destination as the enumerator holds them: a record of (int, boolean,
 * boolean) per placed slot, kept in an immutable List.copyOf per split, the shape of
 * io.warmstage.source.split.Destination inside DataSplit. Used by docs/FLEET-SCALE.md.
 *
 * <p>Run: java -Xmx4g bench/lib/DestinationHeap.java [SLOTS] [SPLITS]   (default 8000 100)
 */
public class DestinationHeap {
    record Destination(int target, boolean cacheOwner, boolean local) {}

    public static void main(String[] args) {
        int slots = args.length > 0 ? Integer.parseInt(args[0]) : 8000;
        int splits = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        long before = used();
        List<List<Destination>> held = new ArrayList<>(splits);
        for (int s = 0; s < splits; s++) {
            List<Destination> to = new ArrayList<>();
            for (int i = 0; i < slots; i++) {
                to.add(new Destination(i, true, i < 8));
            }
            held.add(List.copyOf(to));
        }
        long after = used();
        double perDestination = (double) (after - before) / ((long) slots * splits);
        System.out.printf(
                "%d splits x %d destinations: %d heap bytes, %.1f bytes per destination (%s)%n",
                splits, slots, after - before, perDestination, System.getProperty("java.vm.version"));
        if (held.size() != splits) {
            throw new AssertionError();
        }
    }

    private static long used() {
        Runtime r = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return r.totalMemory() - r.freeMemory();
    }
}
