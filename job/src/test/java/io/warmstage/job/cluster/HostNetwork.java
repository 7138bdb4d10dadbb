package io.warmstage.job.cluster;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Simulated hosts as Linux network namespaces on a private bridge: host {@code i} is the namespace
 * {@code warmstage-<run>-h<i>} with the address {@code 10.77.<net>.<10+i>/24} on its {@code eth0},
 * one end of a veth pair whose other end ({@code wsv<run>h<i>}) is a port of the bridge {@code
 * wsbr<run>} in the root namespace, which holds {@code 10.77.<net>.1/24} (the JobManager's and the
 * test origins' address). Traffic between hosts, and between a host and the root namespace, crosses
 * the veth links; {@link #bytesIntoHost} and {@link #bytesFromHost} read the kernel's counters of
 * each link.
 *
 * <p>{@code <run>} is 6 random hex digits; {@code <net>} is the first {@code 10.77.N.0/24} that no
 * interface or route of the root namespace uses (chosen under a lock file, so concurrent runs on
 * one machine get distinct subnets). Every run is recorded in {@code /run/warmstage-netns/<run>}
 * before anything is created: the owner's pid and, as they start, the pids of the processes placed
 * in the namespaces. {@link #close()} deletes the namespaces (their veth pairs go with them), the
 * bridge and the record; {@link #create} first deletes what earlier runs left behind whose every
 * recorded process has died (only names of recorded runs: nothing else is touched).
 *
 * <p>Needs root and {@code ip} ({@code iproute2}); {@link #supported()} probes it once ({@code
 * -Dwarmstage.netns=false} turns it off).
 */
public final class HostNetwork implements AutoCloseable {
    static final Path REGISTRY = Path.of("/run/warmstage-netns");
    private static final Pattern RUN = Pattern.compile("[0-9a-f]{6}");
    private static final Pattern SUBNET = Pattern.compile("\\b10\\.77\\.(\\d+)\\.");
    private static volatile String support;

    private final String run;
    private final int net;
    private final int hosts;
    private boolean closed;

    private HostNetwork(String run, int net, int hosts) {
        this.run = run;
        this.net = net;
        this.hosts = hosts;
    }

    /**
     * Whether this machine can make network namespaces (root, and {@code ip netns add} and {@code
     * ip link add type bridge} of a probe succeed); probed once per JVM.
     */
    public static boolean supported() {
        return whyUnsupported().isEmpty();
    }

    /** Why namespaces cannot be used here ("" when they can). */
    public static synchronized String whyUnsupported() {
        if (support == null) {
            support = probe();
        }
        return support;
    }

    private static String probe() {
        if ("false".equals(System.getProperty("warmstage.netns"))) {
            return "turned off by -Dwarmstage.netns=false";
        }
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return "not Linux";
        }
        try {
            String uid = run(List.of("id", "-u")).trim();
            if (!"0".equals(uid)) {
                return "not root (uid " + uid + ")";
            }
            String probe = "warmstage-probe-" + ProcessHandle.current().pid();
            String bridge = "wsprobe" + (ProcessHandle.current().pid() % 100_000);
            run(List.of("ip", "netns", "add", probe));
            try {
                run(List.of("ip", "link", "add", bridge, "type", "bridge"));
                run(List.of("ip", "link", "del", bridge));
            } finally {
                run(List.of("ip", "netns", "del", probe));
            }
            return "";
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * Creates {@code hosts} namespaces on a new bridge (deleting the leftovers of dead earlier runs
     * first).
     *
     * @throws IOException if an {@code ip} command fails (what was created so far is deleted) or no
     *     {@code 10.77.N.0/24} is free
     */
    public static HostNetwork create(int hosts) throws IOException, InterruptedException {
        if (hosts < 1 || hosts > 200) {
            throw new IllegalArgumentException("hosts must be 1..200, not " + hosts);
        }
        Files.createDirectories(REGISTRY);
        try (FileChannel ch =
                        FileChannel.open(
                                REGISTRY.resolve(".lock"),
                                StandardOpenOption.CREATE,
                                StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            deleteDeadRuns();
            String run = HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
            Files.writeString(
                    REGISTRY.resolve(run), "owner " + ProcessHandle.current().pid() + "\n");
            HostNetwork n = new HostNetwork(run, freeSubnet(), hosts);
            try {
                n.build();
            } catch (IOException | InterruptedException | RuntimeException e) {
                n.close();
                throw e;
            }
            return n;
        }
    }

    private void build() throws IOException, InterruptedException {
        run(List.of("ip", "link", "add", bridge(), "type", "bridge"));
        run(List.of("ip", "addr", "add", bridgeAddress() + "/24", "dev", bridge()));
        run(List.of("ip", "link", "set", bridge(), "up"));
        for (int i = 0; i < hosts; i++) {
            String ns = namespace(i);
            String veth = "wsv" + run + "h" + i;
            String peer = "wsp" + run + "h" + i;
            run(List.of("ip", "netns", "add", ns));
            run(List.of("ip", "link", "add", veth, "type", "veth", "peer", "name", peer));
            run(List.of("ip", "link", "set", veth, "master", bridge()));
            run(List.of("ip", "link", "set", veth, "up"));
            run(List.of("ip", "link", "set", peer, "netns", ns));
            run(List.of("ip", "-n", ns, "link", "set", peer, "name", "eth0"));
            run(List.of("ip", "-n", ns, "addr", "add", hostAddress(i) + "/24", "dev", "eth0"));
            run(List.of("ip", "-n", ns, "link", "set", "eth0", "up"));
            run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
        }
    }

    private String bridge() {
        return "wsbr" + run;
    }

    /** This run's ID (6 hex digits), part of every name it creates. */
    public String run() {
        return run;
    }

    /** How many hosts (namespaces). */
    public int hosts() {
        return hosts;
    }

    /** The bridge's address in the root namespace, e.g. {@code 10.77.0.1}. */
    public String bridgeAddress() {
        return "10.77." + net + ".1";
    }

    /** Host {@code i}'s address, e.g. {@code 10.77.0.10}. */
    public String hostAddress(int i) {
        return "10.77." + net + "." + (10 + i);
    }

    /** Host {@code i}'s namespace name. */
    public String namespace(int i) {
        return "warmstage-" + run + "-h" + i;
    }

    /**
     * The command prefix that runs a command in host {@code i}'s namespace, with {@code hostDir}
     * bind-mounted over {@code mountPoint} for that command alone (the host's own disk): {@code ip
     * netns exec NS sh -c 'mount --bind ...; exec "$@"' ...}; the command's pid is the one the
     * prefix starts (both exec).
     */
    public List<String> exec(int i, Path hostDir, Path mountPoint) {
        return List.of(
                "ip",
                "netns",
                "exec",
                namespace(i),
                "sh",
                "-c",
                "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"",
                "sh",
                hostDir.toString(),
                mountPoint.toString());
    }

    /** Records a process placed in a namespace (a run with a live process is not a leftover). */
    public void register(long pid) throws IOException {
        Files.writeString(REGISTRY.resolve(run), "pid " + pid + "\n", StandardOpenOption.APPEND);
    }

    /** Bytes the kernel delivered into host {@code i} over its veth link so far. */
    public long bytesIntoHost(int i) throws IOException {
        return counter(i, "tx_bytes"); // sent by the bridge's port = received by the host
    }

    /** Bytes host {@code i} sent over its veth link so far. */
    public long bytesFromHost(int i) throws IOException {
        return counter(i, "rx_bytes");
    }

    private long counter(int i, String name) throws IOException {
        Path p = Path.of("/sys/class/net", "wsv" + run + "h" + i, "statistics", name);
        return Long.parseLong(Files.readString(p).trim());
    }

    /** Deletes the namespaces, the bridge (the veth pairs go with them) and the run's record. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            delete(run);
        }
    }

    /**
     * Deletes a run's namespaces, bridge and record (by its ID; a missing part is skipped).
     *
     * @return how many namespaces were deleted
     */
    static int delete(String run) {
        if (!RUN.matcher(run).matches()) {
            throw new IllegalArgumentException("not a run ID: " + run);
        }
        int n = 0;
        try {
            for (String ns : run(List.of("ip", "netns", "list")).lines().toList()) {
                String name = ns.split(" ")[0];
                if (name.matches("warmstage-" + run + "-h\\d+")) {
                    quietly(List.of("ip", "netns", "del", name));
                    n++;
                }
            }
            if (run(List.of("ip", "-o", "link", "show")).contains(" wsbr" + run + ":")) {
                quietly(List.of("ip", "link", "del", "wsbr" + run));
            }
            Files.deleteIfExists(REGISTRY.resolve(run));
        } catch (IOException e) {
            System.err.println("warning: deleting network run " + run + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return n;
    }

    /**
     * Deletes every recorded run whose owner and processes have all died; caller holds the lock.
     */
    private static void deleteDeadRuns() throws IOException {
        List<String> dead = new ArrayList<>();
        try (var files = Files.list(REGISTRY)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (RUN.matcher(name).matches() && allDead(Files.readAllLines(f))) {
                    dead.add(name);
                }
            }
        }
        for (String run : dead) {
            int n = delete(run);
            System.out.println(
                    "network namespaces: deleted the leftovers of dead run "
                            + run
                            + " ("
                            + n
                            + " namespace(s))");
        }
    }

    private static boolean allDead(List<String> record) {
        for (String line : record) {
            String[] f = line.trim().split(" ");
            if (f.length == 2 && f[1].matches("\\d+")) {
                Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(f[1]));
                if (p.isPresent() && p.get().isAlive()) {
                    return false;
                }
            }
        }
        return true;
    }

    private static int freeSubnet() throws IOException, InterruptedException {
        Set<Integer> used = new TreeSet<>();
        String seen =
                run(List.of("ip", "-o", "-4", "addr", "show"))
                        + run(List.of("ip", "-4", "route", "show", "table", "all"));
        Matcher m = SUBNET.matcher(seen);
        while (m.find()) {
            used.add(Integer.parseInt(m.group(1)));
        }
        for (int n = 0; n < 256; n++) {
            if (!used.contains(n)) {
                return n;
            }
        }
        throw new IOException("no free 10.77.N.0/24 subnet for the host network");
    }

    private static void quietly(List<String> cmd) throws InterruptedException {
        try {
            run(cmd);
        } catch (IOException e) {
            System.err.println("warning: " + e.getMessage());
        }
    }

    /** Runs a command, returns its output; throws with the command and its output if it fails. */
    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": no answer within 30 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(
                    String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out.trim());
        }
        return out;
    }
}
