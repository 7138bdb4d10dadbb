package io.warmstage.job.fleet;

import io.warmstage.host.HostIdentity;
import io.warmstage.host.HostOptions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;

/**
 * What one job moved, per reader and per host: origin, cache and kept-staging bytes and splits of
 * each reader (the readers' own counters), and the chunk exchange's bytes from Flink's task I/O
 * counters: {@code numBytesOut} of the source subtasks, {@code numBytesIn}, {@code numBytesInLocal}
 * and {@code numBytesInRemote} of the subtasks that receive the source's records: the staging
 * subtasks, or with the host relay (fan-out, {@code warmstage.fleet.host-relay}) the relay
 * subtasks, whose copies then reach the staging subtasks of their host over local channels (counted
 * apart as relayed bytes). Subtasks map to hosts as the job maps them ({@link HostIdentity}: a
 * TaskManager's resource id to its simulated host).
 *
 * <p>Bytes a host sent to another TaskManager are its sent bytes less the bytes its own receiving
 * subtasks received over local channels: a local channel joins two subtasks of one TaskManager, and
 * the receiving subtasks' only input is the source. When the source is chained to the staging
 * operator (per-target), chunks never enter a channel and the exchange's bytes are zero.
 *
 * @param readers per source subtask, by subtask index
 * @param hosts per host, by name
 * @param exchange whether chunks crossed a network exchange (source and staging not chained)
 */
public record FleetTraffic(
        Map<Integer, ReaderTraffic> readers, Map<String, HostTraffic> hosts, boolean exchange) {
    /** Name of the source operator in the job graph. */
    static final String SOURCE = "Source: weights";

    /** Name of the staging operator in the job graph. */
    static final String STAGE = "stage";

    /** Name of the host relay operator in the job graph (fan-out with the host relay). */
    static final String RELAY = "relay";

    /**
     * One reader's work, in bytes and splits.
     *
     * @param host the simulated host of its TaskManager
     * @param peerBytes read from peer hosts' caches ({@code warmstage.cache.peers})
     */
    public record ReaderTraffic(
            int subtask,
            String host,
            long originBytes,
            long cacheBytes,
            long stagingBytes,
            long splits,
            long peerBytes) {
        /** Bytes read from any place (origin, cache, peers, kept staging files). */
        public long readBytes() {
            return Math.addExact(
                    Math.addExact(Math.addExact(originBytes, cacheBytes), stagingBytes), peerBytes);
        }
    }

    /**
     * One host's traffic, in bytes.
     *
     * @param readers how many source subtasks ran there
     * @param originBytes read from the origin by its readers
     * @param readBytes read by its readers from any place
     * @param splits data splits its readers read
     * @param bytesOut sent into the exchange by its source subtasks (to every destination, local
     *     channels included)
     * @param bytesIn received from the source's exchange by its staging subtasks, or by its relay
     *     subtasks when the job relays per host
     * @param bytesInLocal of {@code bytesIn}, over local channels (sent by the same TaskManager)
     * @param bytesInRemote of {@code bytesIn}, over the network from other TaskManagers
     * @param relayedLocal with the host relay: what its staging subtasks received from relays over
     *     local channels (the host-local copies); 0 without
     * @param relayedRemote with the host relay: what its staging subtasks received from relays on
     *     other TaskManagers (channel events only: a relay copies only to its own host); 0 without
     */
    public record HostTraffic(
            String host,
            int readers,
            long originBytes,
            long readBytes,
            long splits,
            long bytesOut,
            long bytesIn,
            long bytesInLocal,
            long bytesInRemote,
            long relayedLocal,
            long relayedRemote) {
        /** Bytes sent to other TaskManagers: {@code bytesOut - bytesInLocal}. */
        public long bytesOutRemote() {
            return Math.subtractExact(bytesOut, bytesInLocal);
        }
    }

    /**
     * Sums {@code counters} of {@code job} per reader and per host.
     *
     * @param simulatedHosts TaskManager resource id to simulated host ({@code
     *     EmbeddedRunner#simulatedHosts()}); empty: the TaskManager's host name
     * @throws IllegalArgumentException if the job has no source subtask in {@code counters}
     */
    public static FleetTraffic of(
            TaskCounters counters, JobID job, Map<String, String> simulatedHosts) {
        Configuration conf = new Configuration();
        if (!simulatedHosts.isEmpty()) {
            conf.set(HostOptions.SIMULATED_HOSTS, simulatedHosts);
        }
        Map<Integer, long[]> reader = new TreeMap<>(); // origin, cache, staging, splits, peer
        Map<Integer, String> readerHost = new TreeMap<>();
        // out; stage in, in local, in remote; relay in, in local, in remote
        Map<String, long[]> host = new TreeMap<>();
        boolean chained = false;
        boolean relayed = false;
        for (TaskCounters.Kept k : counters.counters()) {
            Map<String, String> v = k.variables();
            if (!job.toHexString().equals(v.get("<job_id>"))) {
                continue;
            }
            List<String> chain = Arrays.asList(v.getOrDefault("<task_name>", "").split(" -> "));
            boolean source = !chain.isEmpty() && chain.get(0).equals(SOURCE);
            boolean stage = chain.contains(STAGE);
            boolean relay = chain.contains(RELAY);
            chained |= source && stage;
            relayed |= relay;
            String name = HostIdentity.of(v, conf).name();
            int subtask = Integer.parseInt(v.getOrDefault("<subtask_index>", "-1"));
            long n = k.counter().getCount();
            int readerField = readerField(k.name());
            if (source && readerField >= 0) {
                long[] r = reader.computeIfAbsent(subtask, s -> new long[5]);
                r[readerField] = Math.addExact(r[readerField], n);
                readerHost.put(subtask, name);
            }
            int hostField = exchangeField(k, source, stage, relay);
            if (hostField >= 0) {
                long[] h = host.computeIfAbsent(name, x -> new long[7]);
                h[hostField] = Math.addExact(h[hostField], n);
            }
        }
        if (reader.isEmpty()) {
            throw new IllegalArgumentException("no reader counters of job " + job);
        }
        return build(reader, readerHost, chained ? Map.of() : host, !chained, relayed);
    }

    /** Sum of {@code originBytes} over all hosts. */
    public long originBytes() {
        return hosts.values().stream().map(HostTraffic::originBytes).reduce(0L, Math::addExact);
    }

    /** Bytes all readers read from peer hosts' caches. */
    public long peerBytes() {
        return readers.values().stream().map(ReaderTraffic::peerBytes).reduce(0L, Math::addExact);
    }

    /** Sum of {@code splits} over all hosts. */
    public long splits() {
        return hosts.values().stream().map(HostTraffic::splits).reduce(0L, Math::addExact);
    }

    private static FleetTraffic build(
            Map<Integer, long[]> reader,
            Map<Integer, String> readerHost,
            Map<String, long[]> exchange,
            boolean crossed,
            boolean relayed) {
        Map<Integer, ReaderTraffic> readers = new TreeMap<>();
        Map<String, long[]> perHost = new TreeMap<>(); // readers, origin, read, splits
        reader.forEach(
                (subtask, f) -> {
                    ReaderTraffic r =
                            new ReaderTraffic(
                                    subtask, readerHost.get(subtask), f[0], f[1], f[2], f[3], f[4]);
                    readers.put(subtask, r);
                    long[] h = perHost.computeIfAbsent(r.host(), x -> new long[4]);
                    h[0]++;
                    h[1] = Math.addExact(h[1], r.originBytes());
                    h[2] = Math.addExact(h[2], r.readBytes());
                    h[3] = Math.addExact(h[3], r.splits());
                });
        exchange.keySet().forEach(name -> perHost.computeIfAbsent(name, x -> new long[4]));
        Map<String, HostTraffic> hosts = new TreeMap<>();
        perHost.forEach(
                (name, h) -> {
                    long[] x = exchange.getOrDefault(name, new long[7]);
                    // the source's records land on the relays when there are relays
                    int in = relayed ? 4 : 1;
                    hosts.put(
                            name,
                            new HostTraffic(
                                    name,
                                    (int) h[0],
                                    h[1],
                                    h[2],
                                    h[3],
                                    x[0],
                                    x[in],
                                    x[in + 1],
                                    x[in + 2],
                                    relayed ? x[2] : 0,
                                    relayed ? x[3] : 0));
                });
        return new FleetTraffic(readers, hosts, crossed);
    }

    private static int readerField(String name) {
        return switch (name) {
            case "bytesFromOrigin" -> 0;
            case "bytesFromCache" -> 1;
            case "bytesFromStaging" -> 2;
            case "splitsRead" -> 3;
            case "bytesFromPeer" -> 4;
            default -> -1;
        };
    }

    /** Which exchange field a task-level I/O counter adds to, or -1. */
    private static int exchangeField(
            TaskCounters.Kept k, boolean source, boolean stage, boolean relay) {
        if (k.variables().containsKey("<operator_id>") || !(stage || relay || source)) {
            return -1; // an operator's counter, not the task's, or another task's
        }
        String scope = k.scope();
        boolean task = scope.endsWith(".task");
        boolean input = scope.endsWith(".task.Shuffle.Netty.Input");
        int base = relay ? 4 : 1; // a receiving task: the relay's fields or the stage's
        boolean receiver = (stage || relay) && !source;
        return switch (k.name()) {
            case "numBytesOut" -> source && task ? 0 : -1;
            case "numBytesIn" -> receiver && task ? base : -1;
            case "numBytesInLocal" -> receiver && input ? base + 1 : -1;
            case "numBytesInRemote" -> receiver && input ? base + 2 : -1;
            default -> -1;
        };
    }
}
