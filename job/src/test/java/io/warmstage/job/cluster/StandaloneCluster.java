package io.warmstage.job.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A real standalone Flink session cluster, assembled from the project's own Flink jars: one
 * JobManager process ({@code StandaloneSessionClusterEntrypoint}) and TaskManager processes ({@code
 * TaskManagerRunner}), each a separate {@code java} with Flink's JVM options and the memory options
 * Flink's own {@code BashJavaUtils} computes from the generated {@code config.yaml} (as {@code
 * bin/jobmanager.sh} and {@code bin/taskmanager.sh} do). Jobs are submitted as users do: the shaded
 * job jar uploaded and run through the REST API.
 *
 * <p>The TaskManagers run on simulated hosts. Where the machine allows it ({@link
 * HostNetwork#supported()}: root and {@code ip netns}) and the caller asks for it, each host is a
 * network namespace of its own with its own address on a private bridge ({@link HostNetwork}): its
 * TaskManagers bind that address ({@code taskmanager.host}, {@code taskmanager.bind-host}), the
 * JobManager binds the bridge's address in the root namespace, so Flink's RPC and data exchange
 * between hosts cross veth links. Each host also has its own disk: {@code <dir>/hosts/h<i>} is
 * bind-mounted over {@code <dir>/host-local} for its processes ({@link #hostLocal()}, {@link
 * #hostDir}). Otherwise (or when not asked) every process binds 127.0.0.1 and all TaskManagers are
 * one host. The REST API binds 127.0.0.1 either way; the JobManager's RPC and REST ports are
 * whatever free ports the operating system gives it (read back from the JobManager), unless a REST
 * port is asked for.
 *
 * <p>Everything lives under one directory: {@code conf/config.yaml}, {@code log/} (one {@code .log}
 * and one {@code .out} per process), {@code checkpoints/}, {@code rest} (the REST URI), {@code
 * network} (the run ID of the host network, if any) and {@code pids} (for {@code stop} from another
 * process). {@link #close()} (also run on JVM shutdown unless {@link #detach()}ed) stops every
 * process it started, SIGTERM then SIGKILL after 15 s, and deletes the host network.
 *
 * <p>Used by the {@code *ClusterITCase} tests and by {@code scripts/cluster.sh} ({@link
 * ClusterScript}).
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Flink's default JVM options on Java 17 ({@code env.java.default-opts.all}). */
    static final List<String> FLINK_JVM_OPTS =
            List.of(
                    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
                    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
                    "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
                    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/java.net=ALL-UNNAMED",
                    "--add-opens=java.base/java.io=ALL-UNNAMED",
                    "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
                    "--add-opens=java.base/java.text=ALL-UNNAMED",
                    "--add-opens=java.base/java.time=ALL-UNNAMED",
                    "--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
                    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    /** Each process logs into its {@code log/<name>.log} (Flink's {@code log.file}). */
    private static final String LOG4J =
            String.join(
                    "\n",
                    "rootLogger.level = INFO",
                    "rootLogger.appenderRef.file.ref = MainAppender",
                    "appender.main.name = MainAppender",
                    "appender.main.type = File",
                    "appender.main.fileName = ${sys:log.file}",
                    "appender.main.layout.type = PatternLayout",
                    "appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
                    "logger.pekko.name = org.apache.pekko",
                    "logger.pekko.level = WARN",
                    "");

    private static final Pattern REST_LISTENING =
            Pattern.compile("Rest endpoint listening at [^ :]+:(\\d+)");
    private static final Pattern RPC_STARTED =
            Pattern.compile("Actor system started at pekko\\.tcp://flink@[^ :]+:(\\d+)");

    private final Path dir;
    private final Path repo;
    private final String classpath;
    private final HostNetwork net;
    private URI rest;
    private String rpcPort;
    private Thread shutdownHook;
    private final List<Process> taskManagers = new ArrayList<>();
    private final List<Integer> taskManagerHosts = new ArrayList<>();
    private final List<Process> all = new ArrayList<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private List<String> tmJvm;

    private StandaloneCluster(Path dir, Path repo, String classpath, HostNetwork net, URI rest) {
        this.dir = dir;
        this.repo = repo;
        this.classpath = classpath;
        this.net = net;
        this.rest = rest;
    }

    /**
     * Starts a JobManager and {@code taskManagers} TaskManagers with {@code slots} slots each, all
     * on 127.0.0.1 (one host), and waits until all have registered.
     *
     * @see #start(Path, Path, List, int, int, Map, boolean)
     */
    public static StandaloneCluster start(
            Path repo,
            Path dir,
            int taskManagers,
            int slots,
            int restPort,
            Map<String, String> extra)
            throws IOException, InterruptedException {
        return start(repo, dir, List.of(taskManagers), slots, restPort, extra, false);
    }

    /**
     * Starts a JobManager and, on each host {@code i}, {@code taskManagersPerHost.get(i)}
     * TaskManagers with {@code slots} slots each, and waits until all have registered.
     *
     * @param repo the repository root (its {@code job/target/classpath.txt} gives the Flink jars)
     * @param dir the cluster's directory (created; a previous cluster's files there are replaced)
     * @param taskManagersPerHost TaskManager processes per host, e.g. {@code [2, 1]}
     * @param restPort the REST port, 0 for one the operating system picks
     * @param extra further config.yaml entries (override the defaults)
     * @param namespaces whether to put each host in a network namespace of its own where the
     *     machine allows it; where it does not, all TaskManagers run on 127.0.0.1 as one host and a
     *     line on stdout says why ({@link #namespaces()} tells which)
     * @throws IOException if a process cannot start, or the TaskManagers do not register within 2
     *     minutes (the message gives the tail of the processes' logs); everything started is
     *     stopped and deleted first
     */
    public static StandaloneCluster start(
            Path repo,
            Path dir,
            List<Integer> taskManagersPerHost,
            int slots,
            int restPort,
            Map<String, String> extra,
            boolean namespaces)
            throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("conf"));
        Files.createDirectories(dir.resolve("log"));
        try (var old = Files.list(dir.resolve("log"))) {
            for (Path f : old.toList()) {
                Files.delete(f); // a previous cluster's logs (the log appender appends)
            }
        }
        Files.createDirectories(dir.resolve("host-local"));
        Files.deleteIfExists(dir.resolve("pids"));
        Files.deleteIfExists(dir.resolve("rest"));
        Files.deleteIfExists(dir.resolve("network"));
        int total = taskManagersPerHost.stream().mapToInt(Integer::intValue).sum();
        HostNetwork net = null;
        if (namespaces && HostNetwork.supported()) {
            net = HostNetwork.create(taskManagersPerHost.size());
            Files.writeString(dir.resolve("network"), net.run() + "\n");
            for (int h = 0; h < net.hosts(); h++) {
                Files.createDirectories(dir.resolve("hosts/h" + h));
            }
        } else if (namespaces) {
            System.out.println(
                    "standalone cluster: network namespaces unavailable ("
                            + HostNetwork.whyUnsupported()
                            + "): all "
                            + total
                            + " TaskManagers on 127.0.0.1, one host");
        }
        Map<String, String> conf =
                defaults(dir, slots, restPort, net == null ? "127.0.0.1" : net.bridgeAddress());
        conf.putAll(extra);
        writeConfig(dir.resolve("conf"), conf);
        Files.writeString(dir.resolve("conf/log4j.properties"), LOG4J);
        StandaloneCluster c = new StandaloneCluster(dir, repo, flinkClasspath(repo), net, null);
        c.shutdownHook = new Thread(c::close, "standalone-cluster-stop");
        Runtime.getRuntime().addShutdownHook(c.shutdownHook);
        try {
            c.startJobManager();
            for (int h = 0; h < taskManagersPerHost.size(); h++) {
                for (int i = 0; i < taskManagersPerHost.get(h); i++) {
                    c.startTaskManager(net == null ? 0 : h);
                }
            }
            c.awaitTaskManagers(total, Duration.ofMinutes(2));
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        if (net != null) {
            StringBuilder sb = new StringBuilder("standalone cluster: JobManager at ");
            sb.append(net.bridgeAddress()).append(" (bridge), hosts in network namespaces:");
            for (int h = 0; h < net.hosts(); h++) {
                sb.append(' ')
                        .append(net.namespace(h))
                        .append(' ')
                        .append(net.hostAddress(h))
                        .append(" (")
                        .append(taskManagersPerHost.get(h))
                        .append(" TaskManagers)");
            }
            System.out.println(sb);
        }
        return c;
    }

    /**
     * A cluster started by another process in {@code dir} (its {@code conf/config.yaml} gives the
     * REST port); {@link #close()} of the returned object stops nothing.
     */
    public static StandaloneCluster attach(Path repo, Path dir) throws IOException {
        Path rest = dir.resolve("rest");
        if (!Files.exists(rest)) {
            throw new IOException("no cluster in " + dir + " (no " + rest + ")");
        }
        return new StandaloneCluster(
                dir, repo, "", null, URI.create(Files.readString(rest).trim()));
    }

    /**
     * Keeps the cluster running when this JVM exits (no stop on shutdown): for a cluster that
     * {@link #stop(Path)} stops later.
     */
    public void detach() {
        if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        shutdownHook = null;
    }

    /**
     * Whether the hosts are network namespaces (else all TaskManagers are one host on loopback).
     */
    public boolean namespaces() {
        return net != null;
    }

    /** The host network, if {@link #namespaces()}. */
    public Optional<HostNetwork> network() {
        return Optional.ofNullable(net);
    }

    /** How many hosts the TaskManagers are on (1 without namespaces). */
    public int hosts() {
        return net == null ? 1 : net.hosts();
    }

    /**
     * The address a server in this JVM binds so that every TaskManager reaches it: the bridge's
     * address with namespaces, else 127.0.0.1.
     */
    public String originAddress() {
        return net == null ? "127.0.0.1" : net.bridgeAddress();
    }

    /**
     * Host {@code h}'s address as Flink reports it (its {@code <host>}), e.g. {@code 10.77.0.10}.
     */
    public String hostAddress(int h) {
        return net == null ? "127.0.0.1" : net.hostAddress(h);
    }

    /**
     * The directory a task sees as its host's local disk ({@code <dir>/host-local}): give jobs
     * paths under it (a cache directory, say) to have one per host.
     */
    public Path hostLocal() {
        return dir.resolve("host-local");
    }

    /** Where host {@code h}'s {@link #hostLocal()} really is, seen from this JVM. */
    public Path hostDir(int h) {
        return net == null ? hostLocal() : dir.resolve("hosts/h" + h);
    }

    /** The REST API (and Web UI) base URI, e.g. {@code http://127.0.0.1:8081/}. */
    public URI rest() {
        return rest;
    }

    /** The cluster's directory. */
    public Path dir() {
        return dir;
    }

    /** The TaskManager processes started so far (killed ones included), in start order. */
    public List<Process> taskManagers() {
        return List.copyOf(taskManagers);
    }

    /** The host of each TaskManager process started so far, in start order. */
    public List<Integer> taskManagerHosts() {
        return List.copyOf(taskManagerHosts);
    }

    /**
     * Starts one more TaskManager process on host 0 (a replacement after a loss, say).
     *
     * @return its process
     */
    public Process startTaskManager() throws IOException, InterruptedException {
        return startTaskManager(0);
    }

    /**
     * Starts one more TaskManager process on host {@code host}.
     *
     * @return its process
     */
    public Process startTaskManager(int host) throws IOException, InterruptedException {
        if (tmJvm == null) {
            tmJvm = resourceParams("GET_TM_RESOURCE_PARAMS");
        }
        List<String> params = new ArrayList<>(tmJvm);
        String address = net == null ? "127.0.0.1" : net.hostAddress(host);
        params.addAll(
                List.of(
                        "-D",
                        "jobmanager.rpc.port=" + rpcPort,
                        "-D",
                        "taskmanager.host=" + address,
                        "-D",
                        "taskmanager.bind-host=" + address));
        List<String> prefix = net == null ? List.of() : net.exec(host, hostDir(host), hostLocal());
        Process p =
                start(
                        "taskmanager-" + taskManagers.size(),
                        prefix,
                        params,
                        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                        taskManagers);
        taskManagerHosts.add(host);
        return p;
    }

    /** Every process this cluster started (the JobManager first), killed ones included. */
    public List<Process> processes() {
        return List.copyOf(all);
    }

    /**
     * Cancels a job ({@code PATCH /jobs/:id?mode=cancel}); returns at once, see {@link #awaitEnd}.
     *
     * @throws IOException if the cancellation is refused (the message gives the REST answer)
     */
    public void cancel(String jobId) throws IOException, InterruptedException {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(rest.resolve("jobs/" + jobId + "?mode=cancel"))
                                .timeout(Duration.ofSeconds(10))
                                .method("PATCH", HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IOException(
                    "cancelling job " + jobId + " failed: " + r.statusCode() + " " + r.body());
        }
    }

    /** Resource IDs of the registered TaskManagers. */
    public Set<String> registeredTaskManagers() throws IOException, InterruptedException {
        Set<String> ids = new java.util.TreeSet<>();
        get("taskmanagers").path("taskmanagers").forEach(t -> ids.add(t.path("id").asText()));
        return ids;
    }

    /**
     * Uploads {@code jar} ({@code POST /jars/upload}) and runs it ({@code POST /jars/:id/run}).
     *
     * @param parallelism the job's parallelism
     * @param programArgs the job's arguments, as after the jar on {@code flink run}
     * @return the job's ID (32 hex digits)
     * @throws IOException if the upload or the run is refused (the message gives the REST errors)
     */
    public String submit(Path jar, int parallelism, List<String> programArgs)
            throws IOException, InterruptedException {
        String jarId = upload(jar);
        ObjectNode body = JSON.createObjectNode();
        body.put("parallelism", parallelism);
        body.set("programArgsList", JSON.valueToTree(programArgs));
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(rest.resolve("jars/" + jarId + "/run"))
                                .timeout(Duration.ofMinutes(2))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        JsonNode answer = JSON.readTree(r.body());
        if (r.statusCode() != 200 || !answer.hasNonNull("jobid")) {
            throw new IOException("running " + jar + " failed: " + r.statusCode() + " " + r.body());
        }
        return answer.get("jobid").asText();
    }

    /**
     * The job's state ({@code GET /jobs/:id}): {@code RUNNING}, {@code FINISHED}, {@code FAILED},
     * ...
     */
    public String state(String jobId) throws IOException, InterruptedException {
        return get("jobs/" + jobId).path("state").asText();
    }

    /**
     * Waits for the job to reach a terminal state.
     *
     * @return the terminal state ({@code FINISHED}, {@code FAILED}, {@code CANCELED})
     * @throws IOException if it is still running after {@code timeout}
     */
    public String awaitEnd(String jobId, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> terminal = Set.of("FINISHED", "FAILED", "CANCELED");
        while (System.nanoTime() < deadline) {
            String s = state(jobId);
            if (terminal.contains(s)) {
                return s;
            }
            pause();
        }
        throw new IOException("job " + jobId + " still " + state(jobId) + " after " + timeout);
    }

    /** {@code GET} of a REST path (relative, e.g. {@code jobs/ID/checkpoints}) as JSON. */
    public JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(rest.resolve(path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    /**
     * Stops every process this cluster started (SIGTERM, and SIGKILL after 15 s) and deletes the
     * host network.
     */
    @Override
    public synchronized void close() {
        stop(all.stream().map(Process::toHandle).toList());
        if (net != null) {
            net.close();
            try {
                Files.deleteIfExists(dir.resolve("network"));
            } catch (IOException e) {
                System.err.println("warning: " + e.getMessage());
            }
        }
        detach();
    }

    /**
     * Stops the processes listed in {@code dir/pids} (a cluster started by another process) and
     * deletes its host network ({@code dir/network}).
     *
     * @return how many were still running
     */
    public static int stop(Path dir) throws IOException {
        Path pids = dir.resolve("pids");
        Path network = dir.resolve("network");
        if (!Files.exists(pids)) {
            if (Files.exists(network)) {
                HostNetwork.delete(Files.readString(network).trim());
                Files.delete(network);
            }
            return 0;
        }
        List<ProcessHandle> running =
                Files.readAllLines(pids).stream()
                        .filter(l -> !l.isBlank())
                        .map(l -> ProcessHandle.of(Long.parseLong(l.split(" ")[0])))
                        .flatMap(java.util.Optional::stream)
                        .filter(p -> p.isAlive() && p.info().command().orElse("").endsWith("java"))
                        .toList();
        stop(running);
        Files.deleteIfExists(pids);
        if (Files.exists(network)) {
            HostNetwork.delete(Files.readString(network).trim());
            Files.delete(network);
        }
        return running.size();
    }

    /** The text of a process's log (e.g. {@code taskmanager-0.log}), or "" if it has none yet. */
    public String log(String name) throws IOException {
        Path p = dir.resolve("log").resolve(name);
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private static void stop(List<ProcessHandle> processes) {
        processes.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        for (ProcessHandle p : processes) {
            try {
                p.onExit()
                        .get(
                                Math.max(1, deadline - System.nanoTime()),
                                java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
            }
        }
    }

    /**
     * Starts the JobManager and learns the ports it bound from its log: REST from "Rest endpoint
     * listening at HOST:PORT", RPC from "Actor system started at pekko.tcp://flink@HOST:PORT" (no
     * port is picked here and then taken by someone else before Flink binds it).
     */
    private void startJobManager() throws IOException, InterruptedException {
        Process jm =
                start(
                        "jobmanager",
                        List.of(),
                        resourceParams("GET_JM_RESOURCE_PARAMS"),
                        "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                        null);
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (rest == null || rpcPort == null) {
            if (!jm.isAlive()) {
                throw new IOException(
                        "the JobManager exited with status "
                                + jm.exitValue()
                                + " during start-up; logs: "
                                + dir.resolve("log")
                                + "\n"
                                + tails());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(
                        "the JobManager's REST API did not come up within 1 min\n" + tails());
            }
            String log = log("jobmanager.log");
            Matcher m = REST_LISTENING.matcher(log);
            if (m.find()) {
                rest = URI.create("http://127.0.0.1:" + m.group(1) + "/");
            }
            m = RPC_STARTED.matcher(log);
            if (m.find()) {
                rpcPort = m.group(1);
            }
            if (rest == null || rpcPort == null) {
                pause();
            }
        }
        Files.writeString(dir.resolve("rest"), rest + "\n");
    }

    private Process start(
            String name,
            List<String> prefix,
            List<String> jvmAndDynamic,
            String main,
            List<Process> into)
            throws IOException {
        int split = jvmAndDynamic.indexOf("--");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(java());
        cmd.addAll(jvmAndDynamic.subList(0, split));
        cmd.addAll(FLINK_JVM_OPTS);
        Path log = dir.resolve("log").resolve(name + ".log");
        cmd.add("-Dlog.file=" + log);
        cmd.add("-Dlog4j.configurationFile=" + dir.resolve("conf/log4j.properties").toUri());
        cmd.addAll(List.of("-cp", classpath, main, "--configDir", dir.resolve("conf").toString()));
        cmd.addAll(jvmAndDynamic.subList(split + 1, jvmAndDynamic.size()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("FLINK_CONF_DIR", dir.resolve("conf").toString());
        pb.environment()
                .putIfAbsent("FLINK_PLUGINS_DIR", repo.resolve("job/target/plugins").toString());
        Path out = dir.resolve("log").resolve(name + ".out");
        pb.redirectErrorStream(true).redirectOutput(out.toFile());
        Process p = pb.start();
        all.add(p);
        if (net != null) {
            net.register(p.pid());
        }
        if (into != null) {
            into.add(p);
        }
        Files.writeString(
                dir.resolve("pids"),
                p.pid() + " " + name + "\n",
                java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        return p;
    }

    /**
     * JVM options, then "--", then dynamic {@code -D key=value} options, from Flink's {@code
     * BashJavaUtils} (the memory sizes bin/jobmanager.sh and bin/taskmanager.sh pass).
     */
    private List<String> resourceParams(String command) throws IOException, InterruptedException {
        Process p =
                new ProcessBuilder(
                                java(),
                                "-cp",
                                classpath,
                                "org.apache.flink.runtime.util.bash.BashJavaUtils",
                                command,
                                "--configDir",
                                dir.resolve("conf").toString())
                        .redirectErrorStream(true)
                        .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        String prefix = "BASH_JAVA_UTILS_EXEC_RESULT:";
        List<String> results =
                output.lines()
                        .filter(l -> l.startsWith(prefix))
                        .map(l -> l.substring(prefix.length()))
                        .toList();
        if (p.exitValue() != 0 || results.size() < 2) {
            throw new IOException("Flink's BashJavaUtils " + command + " failed: " + output);
        }
        List<String> out = new ArrayList<>(Arrays.asList(results.get(0).trim().split(" +")));
        out.add("--");
        out.addAll(Arrays.asList(results.get(1).trim().split(" +")));
        return out;
    }

    private void awaitTaskManagers(int n, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (Process p : all) {
                if (!p.isAlive()) {
                    throw new IOException(
                            "a cluster process exited with status "
                                    + p.exitValue()
                                    + " during start-up; logs: "
                                    + dir.resolve("log")
                                    + "\n"
                                    + tails());
                }
            }
            try {
                if (registeredTaskManagers().size() >= n) {
                    return;
                }
            } catch (IOException e) {
                // REST not up yet
            }
            pause();
        }
        throw new IOException(
                n + " TaskManagers did not register within " + timeout + "\n" + tails());
    }

    private String tails() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.list(dir.resolve("log"))) {
            for (Path f : files.sorted().toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                sb.append("== ").append(f.getFileName()).append('\n');
                lines.subList(Math.max(0, lines.size() - 15), lines.size())
                        .forEach(l -> sb.append(l).append('\n'));
            }
        }
        return sb.toString();
    }

    private String upload(Path jar) throws IOException, InterruptedException {
        String boundary = "warmstage-" + UUID.randomUUID();
        byte[] head =
                ("--"
                                + boundary
                                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                                + jar.getFileName()
                                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(rest.resolve("jars/upload"))
                                .timeout(Duration.ofMinutes(1))
                                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                                .POST(
                                        HttpRequest.BodyPublishers.concat(
                                                HttpRequest.BodyPublishers.ofByteArray(head),
                                                HttpRequest.BodyPublishers.ofFile(jar),
                                                HttpRequest.BodyPublishers.ofByteArray(tail)))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        JsonNode answer = JSON.readTree(r.body());
        if (r.statusCode() != 200 || !"success".equals(answer.path("status").asText())) {
            throw new IOException(
                    "uploading " + jar + " failed: " + r.statusCode() + " " + r.body());
        }
        String name = answer.get("filename").asText();
        return name.substring(name.lastIndexOf('/') + 1);
    }

    /**
     * The cluster's classpath: the job module's Flink, logging and Flink-dependency jars, without
     * the job's own code and libraries (those come with the uploaded job jar).
     */
    static String flinkClasspath(Path repo) throws IOException {
        Path file = repo.resolve("job/target/classpath.txt");
        if (!Files.exists(file)) {
            throw new IOException(file + " is missing: build first (mvn -DskipTests install)");
        }
        List<String> userLibs =
                List.of(
                        "/io/warmstage/",
                        "/info/picocli/",
                        "/com/fasterxml/",
                        "/org/yaml/",
                        "/org/jcuda/",
                        "/org/eclipse/jetty/");
        return Arrays.stream(Files.readString(file).trim().split(java.io.File.pathSeparator))
                .filter(e -> userLibs.stream().noneMatch(e::contains))
                .collect(Collectors.joining(java.io.File.pathSeparator));
    }

    private static Map<String, String> defaults(
            Path dir, int slots, int restPort, String jobManagerAddress) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("jobmanager.rpc.address", jobManagerAddress);
        c.put("jobmanager.rpc.port", "0"); // TaskManagers get the bound one as -D
        c.put("jobmanager.bind-host", jobManagerAddress);
        c.put("jobmanager.retrieve-taskmanager-hostname", "false");
        c.put("rest.address", "127.0.0.1");
        c.put("rest.bind-address", "127.0.0.1");
        if (restPort > 0) {
            c.put("rest.port", Integer.toString(restPort));
        } else {
            c.put("rest.bind-port", "0");
        }
        c.put("taskmanager.host", "127.0.0.1"); // with namespaces, each host's address as -D
        c.put("taskmanager.bind-host", "127.0.0.1");
        c.put("taskmanager.numberOfTaskSlots", Integer.toString(slots));
        c.put("jobmanager.memory.process.size", "768m");
        c.put("taskmanager.memory.process.size", "1600m");
        c.put("taskmanager.memory.managed.size", "0m");
        c.put("taskmanager.memory.task.off-heap.size", "512m");
        c.put("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        c.put("restart-strategy.type", "fixed-delay");
        c.put("restart-strategy.fixed-delay.attempts", "10");
        c.put("restart-strategy.fixed-delay.delay", "1 s");
        c.put("metrics.fetcher.update-interval", "1000");
        c.put("warmstage.source.buffer-pool", "64mb");
        return c;
    }

    private static void writeConfig(Path confDir, Map<String, String> conf) throws IOException {
        StringBuilder sb = new StringBuilder("# Generated by the Warmstage cluster harness\n");
        conf.forEach((k, v) -> sb.append(k).append(": ").append(quote(v)).append('\n'));
        Files.writeString(confDir.resolve("config.yaml"), sb.toString());
    }

    private static String quote(String v) {
        return v.matches("[A-Za-z0-9._:/ -]+") && !v.contains(": ")
                ? v
                : JSON.valueToTree(v).toString();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static void pause() throws InterruptedException {
        Thread.sleep(200); // polling interval of a wait with a deadline
    }
}
