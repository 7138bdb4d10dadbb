import java.util.ArrayList;
import java.util.List;

/**
 * Heap bytes per split destination as the enumerator holds them: a record of (int, boolean,
 * boolean) per placed slot, kept in an immutable List.copyOf per split, the shape of
 * io.warmstage.source.split.Destination inside DataSplit. Used by docs/FLEET-SCALE.md.
 *
 * <p>Run: java -Xmx4g bench/lib/DestinationHeap.java [DESTINATIONS] [SPLITS] [RELAY]   (default
 * 8000 100 0). With RELAY = G > 0 each destination is a host's, holding the list of its G relay
 * targets (keys above 127, so boxed), one list per host shared by every split, as the host relay's
 * assigner builds them.
 */
public class DestinationHeap {
    record Destination(int target, boolean cacheOwner, boolean local, List<Integer> relay) {}

    public static void main(String[] args) {
        int slots = args.length > 0 ? Integer.parseInt(args[0]) : 8000;
        int splits = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int relay = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        long before = used();
        List<List<Integer>> relays = new ArrayList<>(slots);
        for (int i = 0; i < slots; i++) {
            List<Integer> keys = new ArrayList<>();
            for (int g = 0; g < relay; g++) {
                keys.add(1000 + i * relay + g);
            }
            relays.add(List.copyOf(keys));
        }
        List<List<Destination>> held = new ArrayList<>(splits);
        for (int s = 0; s < splits; s++) {
            List<Destination> to = new ArrayList<>();
            for (int i = 0; i < slots; i++) {
                to.add(new Destination(i, true, i < 8, relays.get(i)));
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
