package io.warmstage.source.enumerator;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Decides which reader fetches which split, and keeps each reader's splits in the order it gets
 * them. Knows nothing of Flink: the enumerator asks {@link #getNext} when a reader wants work.
 *
 * <p>For a model placed on some slots, the {@link FetchMode} picks the fetching readers:
 *
 * <ul>
 *   <li>per-target: reader {@code i} fetches every range for slot {@code i};
 *   <li>per-host: one reader of each host fetches each range (the host's readers take turns) for
 *       all of that host's placed slots;
 *   <li>fan-out: one reader of the fleet fetches each range (all readers take turns) for every
 *       placed slot. With the host relay on, a split has one destination per host that holds the
 *       model: the host's lead slot (its lowest placed subtask), listing the host's placed targets
 *       to relay to ({@link Destination#relay()}), so a chunk crosses the network once per remote
 *       host; with it off, one destination per placed slot.
 * </ul>
 *
 * <p>A reader's splits of one model go round the model's files (one split of each file in turn), so
 * that the reads in flight, and the staging writes after them, are spread over the files. A failed
 * file is reported by every placed slot. With the cache on, every destination may write the file
 * into its host's cache (the staging slots of a host agree on the one that writes).
 */
public final class SplitAssigner {
    private final int[] targetKeys;
    private final FetchMode mode;
    private final boolean cacheOn;
    private final boolean hostRelay;
    private final SplitPlanner planner;
    private final Map<Integer, Deque<ChunkSplit>> queues = new TreeMap<>();
    private int rotation;

    /**
     * @param targetKeys per subtask index, the key of its target ({@link TargetKeys})
     * @param mode who fetches each range
     * @param cacheOn whether files are written into the hosts' caches
     * @param planner cuts files into splits
     */
    public SplitAssigner(int[] targetKeys, FetchMode mode, boolean cacheOn, SplitPlanner planner) {
        this(targetKeys, mode, cacheOn, false, planner);
    }

    /**
     * @param targetKeys per subtask index, the key of its target ({@link TargetKeys})
     * @param mode who fetches each range
     * @param cacheOn whether files are written into the hosts' caches
     * @param hostRelay in fan-out, whether a split goes once to each host's lead slot, which relays
     *     it to the host's other placed slots (ignored in the other modes)
     * @param planner cuts files into splits
     */
    public SplitAssigner(
            int[] targetKeys,
            FetchMode mode,
            boolean cacheOn,
            boolean hostRelay,
            SplitPlanner planner) {
        this.targetKeys = targetKeys.clone();
        this.mode = mode;
        this.cacheOn = cacheOn;
        this.hostRelay = hostRelay && mode == FetchMode.FAN_OUT;
        this.planner = planner;
    }

    /**
     * Cuts a model's files into splits and queues each for the reader that fetches it.
     *
     * @param files the model's planned (or failed) files
     * @param slots subtask indexes that hold the model, ascending; not empty
     * @param hosts host name by subtask index, for every reader
     * @param generation how many times the model was distributed before (split ids include it)
     */
    public void addModel(
            List<FilePlan> files, List<Integer> slots, Map<Integer, String> hosts, int generation) {
        long modelBytes =
                files.stream().filter(f -> !f.isFailure()).mapToLong(f -> f.version().size()).sum();
        List<Map<Integer, List<ChunkSplit>>> byFile = new ArrayList<>(); // reader -> its splits
        for (FilePlan f : files) {
            Map<Integer, List<ChunkSplit>> ofFile = new TreeMap<>();
            byFile.add(ofFile);
            if (f.isFailure() || mode == FetchMode.PER_TARGET) {
                for (int slot : slots) {
                    for (ChunkSplit s : planner.splits(f, targetKeys[slot], generation)) {
                        add(ofFile, slot, withOwner(s, cacheOn, modelBytes));
                    }
                }
            } else if (mode == FetchMode.PER_HOST) {
                Map<String, List<Integer>> byHost = new TreeMap<>();
                slots.forEach(
                        s -> byHost.computeIfAbsent(hosts.get(s), h -> new ArrayList<>()).add(s));
                byHost.forEach(
                        (host, hostSlots) ->
                                fanOut(
                                        f,
                                        hostSlots,
                                        readersOn(hosts, host),
                                        hosts,
                                        generation,
                                        modelBytes,
                                        ofFile));
            } else {
                fanOut(
                        f,
                        slots,
                        new ArrayList<>(hosts.keySet()),
                        hosts,
                        generation,
                        modelBytes,
                        ofFile);
            }
        }
        Set<Integer> readers = new TreeSet<>();
        byFile.forEach(ofFile -> readers.addAll(ofFile.keySet()));
        for (int reader : readers) {
            List<List<ChunkSplit>> ofReader = new ArrayList<>();
            byFile.forEach(ofFile -> ofReader.add(ofFile.getOrDefault(reader, List.of())));
            queue(reader).addAll(roundRobin(ofReader));
        }
    }

    /** Queues {@code splits} for {@code reader}, after the splits it has. */
    public void addSplits(int reader, List<? extends ChunkSplit> splits) {
        queue(reader).addAll(splits);
    }

    /** Puts {@code splits} back in front of {@code reader}'s queue, in their order. */
    public void addSplitsBack(int reader, List<ChunkSplit> splits) {
        Deque<ChunkSplit> q = queue(reader);
        for (int i = splits.size() - 1; i >= 0; i--) {
            q.addFirst(splits.get(i));
        }
    }

    /** The next split for {@code reader}, removed from its queue; empty when it has none. */
    public Optional<ChunkSplit> getNext(int reader) {
        return Optional.ofNullable(queue(reader).poll());
    }

    /** Whether {@code reader} has no split queued. */
    public boolean isEmpty(int reader) {
        return queue(reader).isEmpty();
    }

    /** Every reader's queued splits, in order: what a checkpoint keeps. */
    public Map<Integer, List<ChunkSplit>> remainingSplits() {
        Map<Integer, List<ChunkSplit>> out = new TreeMap<>();
        queues.forEach((reader, q) -> out.put(reader, new ArrayList<>(q)));
        return out;
    }

    /** The lists' elements taken one from each list in turn: a0, b0, c0, a1, b1, ... */
    static <T> List<T> roundRobin(List<List<T>> lists) {
        List<T> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            boolean any = false;
            for (List<T> l : lists) {
                if (i < l.size()) {
                    out.add(l.get(i));
                    any = true;
                }
            }
            if (!any) {
                return out;
            }
        }
    }

    /**
     * Queues {@code file}'s splits so that each is fetched once, by the fetchers in turn, and
     * delivered to every one of {@code slots}.
     */
    private void fanOut(
            FilePlan file,
            List<Integer> slots,
            List<Integer> fetchers,
            Map<Integer, String> hosts,
            int generation,
            long modelBytes,
            Map<Integer, List<ChunkSplit>> ofFile) {
        List<ChunkSplit> splits = planner.splits(file, targetKeys[slots.get(0)], generation);
        // One relay list per host, shared by every split of the file: the enumerator holds all
        // splits of a model at once, so a list per split would cost G boxed keys per destination.
        Map<String, List<Integer>> relayOf = new LinkedHashMap<>();
        if (hostRelay) {
            byHost(slots, hosts)
                    .forEach(
                            (host, onHost) ->
                                    relayOf.put(
                                            host,
                                            List.copyOf(
                                                    onHost.stream()
                                                            .map(s -> targetKeys[s])
                                                            .toList())));
        }
        for (int i = 0; i < splits.size(); i++) {
            int fetcher = fetchers.get((i + rotation) % fetchers.size());
            List<Destination> to = new ArrayList<>();
            if (hostRelay) {
                relayOf.forEach(
                        (host, relay) ->
                                to.add(
                                        new Destination(
                                                relay.get(0),
                                                cacheOn,
                                                host.equals(hosts.get(fetcher)),
                                                relay)));
            } else {
                for (int slot : slots) {
                    boolean local = hosts.get(slot).equals(hosts.get(fetcher));
                    to.add(new Destination(targetKeys[slot], cacheOn, local));
                }
            }
            DataSplit s = (DataSplit) splits.get(i); // a failed file goes per target
            add(ofFile, fetcher, s.withDestinations(to).withModelBytes(modelBytes));
        }
        rotation += splits.size();
    }

    /** {@code slots} (ascending) grouped by host, hosts in the order of their lowest slot. */
    private static Map<String, List<Integer>> byHost(
            List<Integer> slots, Map<Integer, String> hosts) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        slots.forEach(s -> out.computeIfAbsent(hosts.get(s), h -> new ArrayList<>()).add(s));
        return out;
    }

    private static List<Integer> readersOn(Map<Integer, String> hosts, String host) {
        List<Integer> out = new ArrayList<>();
        hosts.forEach(
                (reader, h) -> {
                    if (h.equals(host)) {
                        out.add(reader);
                    }
                });
        return out;
    }

    /** The split with its one destination's cache flag and the model's bytes set. */
    private static ChunkSplit withOwner(ChunkSplit s, boolean cacheOn, long modelBytes) {
        if (s instanceof DataSplit d) {
            return d.withDestinations(List.of(new Destination(d.target(), cacheOn, true)))
                    .withModelBytes(modelBytes);
        }
        return s instanceof FailureSplit f ? f.withModelBytes(modelBytes) : s;
    }

    private static void add(Map<Integer, List<ChunkSplit>> ofFile, int reader, ChunkSplit s) {
        ofFile.computeIfAbsent(reader, r -> new ArrayList<>()).add(s);
    }

    private Deque<ChunkSplit> queue(int reader) {
        return queues.computeIfAbsent(reader, r -> new ArrayDeque<>());
    }
}
