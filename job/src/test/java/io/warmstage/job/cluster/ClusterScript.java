package io.warmstage.job.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * {@code scripts/cluster.sh}: start a standalone cluster and leave it running, submit the job jar
 * to it and wait for the job's end, or stop it.
 *
 * <pre>
 * start DIR TASK_MANAGERS SLOTS REST_PORT [HOSTS NETNS]
 *                                           HOSTS hosts of TASK_MANAGERS each, in network
 *                                           namespaces if NETNS is true and the machine allows;
 *                                           prints the REST URI and the address origins bind
 * submit DIR JAR PARALLELISM ARG...         prints the job ID, then its final state; exit 1 unless FINISHED
 * stop DIR                                  stops the processes DIR/pids lists
 * </pre>
 */
public final class ClusterScript {
    private ClusterScript() {}

    public static void main(String[] args) throws Exception {
        Path repo = Path.of(System.getProperty("warmstage.repo", ".")).toAbsolutePath();
        switch (args.length == 0 ? "" : args[0]) {
            case "start" -> {
                int hosts = args.length > 5 ? Integer.parseInt(args[5]) : 1;
                boolean netns = args.length > 6 && Boolean.parseBoolean(args[6]);
                StandaloneCluster c =
                        StandaloneCluster.start(
                                repo,
                                Path.of(args[1]).toAbsolutePath(),
                                Collections.nCopies(hosts, Integer.parseInt(args[2])),
                                Integer.parseInt(args[3]),
                                Integer.parseInt(args[4]),
                                Map.of(),
                                netns);
                c.detach();
                System.out.println("REST API and Web UI: " + c.rest());
                System.out.println(
                        "origins must listen on "
                                + c.originAddress()
                                + " to be reached by every TaskManager; each host's"
                                + " local directory "
                                + c.hostLocal()
                                + (c.namespaces()
                                        ? " is " + c.dir().resolve("hosts") + "/h<i>"
                                        : " is shared"));
                System.exit(0); // the cluster's processes keep running
            }
            case "submit" -> {
                Path dir = Path.of(args[1]).toAbsolutePath();
                StandaloneCluster c = StandaloneCluster.attach(repo, dir);
                List<String> jobArgs = Arrays.asList(args).subList(4, args.length);
                String job = c.submit(Path.of(args[2]), Integer.parseInt(args[3]), jobArgs);
                System.out.println("job " + job + " submitted; Web UI: " + c.rest());
                String state = c.awaitEnd(job, Duration.ofDays(365));
                System.out.println("job " + job + " " + state);
                System.exit("FINISHED".equals(state) ? 0 : 1);
            }
            case "stop" -> {
                int n = StandaloneCluster.stop(Path.of(args[1]).toAbsolutePath());
                System.out.println("stopped " + n + " process(es)");
            }
            default -> {
                System.err.println(
                        "usage: start DIR TMS SLOTS PORT | submit DIR JAR P ARG... | stop DIR");
                System.exit(2);
            }
        }
    }
}
