package io.warmstage.job.cli;

import io.warmstage.cache.CacheDirectory;
import io.warmstage.cache.CacheDirectory.Entry;
import io.warmstage.cache.CacheOptions;
import io.warmstage.cache.PeerCacheServer;
import io.warmstage.job.report.Summary;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.MemorySize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code warmstage cache list|verify|prune|serve}: what a host's cache directory holds, whether it
 * is intact, removing what is not needed (in the spirit of {@code huggingface-cli scan-cache} and
 * {@code delete-cache}), and serving it to peer hosts ({@link PeerCacheServer}).
 */
@Command(
        name = "cache",
        description = {
            "List, verify, prune or serve a host-local cache directory.",
            "list: every entry (URI without credentials, version, size, last use), least recently"
                    + " used first.",
            "verify: checks every entry's bytes against its CRC-32C; corrupt ones are removed with"
                    + " --delete.",
            "prune: removes temp files of dead writers, orphaned halves of entries, superseded"
                    + " versions, and with --max-size least-recently-used entries until the cache"
                    + " fits.",
            "serve: serves the published entries read-only over HTTP to peer hosts, whose jobs"
                    + " read from it with -D warmstage.cache.peers=http://HOST:PORT; runs until"
                    + " stopped. No authentication: bind it to the fleet's private network.",
            "Exit status: 0 fine, 1 a corrupt entry found (verify), 2 usage error."
        },
        mixinStandardHelpOptions = true)
public final class CacheCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "list|verify|prune|serve", description = "What to do.")
    String action;

    @Option(
            names = "--cache-dir",
            paramLabel = "DIR",
            required = true,
            description = "The cache directory (a fleet simulation's host: DIR/<host>).")
    Path cacheDir;

    @Option(
            names = "--max-size",
            paramLabel = "SIZE",
            description =
                    "prune: evict least-recently-used entries until the data fits, e.g. 50gb.")
    String maxSize;

    @Option(names = "--delete", description = "verify: remove the corrupt entries it finds.")
    boolean delete;

    @Option(
            names = "--bind",
            paramLabel = "ADDR",
            defaultValue = "127.0.0.1",
            description =
                    "serve: the address to listen on (default ${DEFAULT-VALUE}; the host's"
                            + " fleet address or 0.0.0.0 for peers).")
    String bind;

    @Option(
            names = "--port",
            paramLabel = "PORT",
            defaultValue = "9470",
            description = "serve: the port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "16",
            description = "serve: requests served at once (default ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(cacheDir)) {
            throw new ParameterException(
                    spec.commandLine(), "cache directory " + cacheDir + " does not exist");
        }
        if (!Files.isDirectory(cacheDir)) {
            throw new ParameterException(
                    spec.commandLine(), "cache directory " + cacheDir + " is not a directory");
        }
        CacheDirectory dir = new CacheDirectory(cacheDir);
        PrintStream out = System.out;
        return switch (action) {
            case "list" -> list(dir, out);
            case "verify" -> verify(dir, out);
            case "prune" -> prune(dir, out);
            case "serve" -> serve(out);
            default ->
                    throw new ParameterException(
                            spec.commandLine(),
                            "unknown action '" + action + "'; give list, verify, prune or serve");
        };
    }

    private static int list(CacheDirectory dir, PrintStream out) throws IOException {
        List<Entry> entries = dir.entries();
        out.printf(Locale.ROOT, "%-10s  %-20s  %-24s  %s%n", "SIZE", "LAST USE", "VERSION", "URI");
        long total = 0;
        for (Entry e : entries) {
            total = Math.addExact(total, Math.max(0, e.bytes()));
            out.printf(
                    Locale.ROOT,
                    "%-10s  %-20s  %-24s  %s%n",
                    Summary.human(Math.max(0, e.bytes())),
                    e.lastUse().truncatedTo(ChronoUnit.SECONDS),
                    shorten(e.sidecar().etag()),
                    e.uri());
        }
        out.printf(
                Locale.ROOT,
                "%d entries, %s (%d bytes)%n",
                entries.size(),
                Summary.human(total),
                total);
        return 0;
    }

    private int verify(CacheDirectory dir, PrintStream out) throws IOException {
        int corrupt = 0;
        List<Entry> entries = dir.entries();
        for (Entry e : entries) {
            String why = e.bytes() < 0 ? "data file missing" : CacheDirectory.verify(e);
            if (why != null) {
                corrupt++;
                out.println("CORRUPT " + e.uri() + " (" + e.data() + "): " + why);
                if (delete) {
                    dir.remove(e.key());
                }
            }
        }
        out.printf(
                Locale.ROOT,
                "%d entries checked, %d ok, %d corrupt%s%n",
                entries.size(),
                entries.size() - corrupt,
                corrupt,
                corrupt > 0 && delete ? " (removed)" : "");
        return corrupt == 0 ? 0 : 1;
    }

    private int prune(CacheDirectory dir, PrintStream out) throws IOException {
        long cap;
        try {
            cap = maxSize == null ? Long.MAX_VALUE : MemorySize.parse(maxSize).getBytes();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--max-size: " + e.getMessage());
        }
        int temps = dir.deleteDeadTemps();
        int orphans = dir.deleteOrphanData();
        for (Entry e : dir.entries()) {
            if (e.bytes() < 0 && dir.remove(e.key())) {
                orphans++;
            }
        }
        List<Entry> superseded = dir.retireAllSuperseded();
        List<Entry> evicted =
                cap == Long.MAX_VALUE ? List.of() : dir.evictToFit(cap, Duration.ZERO, null);
        for (Entry e : superseded) {
            out.println("removed " + e.uri() + " at " + e.sidecar().etag() + " (superseded)");
        }
        for (Entry e : evicted) {
            out.println(
                    "removed "
                            + e.uri()
                            + " ("
                            + Summary.human(e.bytes())
                            + ", last use "
                            + e.lastUse().truncatedTo(ChronoUnit.SECONDS)
                            + ")");
        }
        long left = dir.bytes();
        out.printf(
                Locale.ROOT,
                "pruned %d entries, %d dead temp files, %d orphans; %s left%n",
                evicted.size() + superseded.size(),
                temps,
                orphans,
                Summary.human(left));
        if (left > cap) {
            out.println("cache still over " + maxSize + ": the rest was used just now");
        }
        return 0;
    }

    private int serve(PrintStream out) throws IOException {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be in [0, 65535]");
        }
        if (threads < 1 || threads > PeerCacheServer.MAX_THREADS) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--threads must be in [1, "
                            + PeerCacheServer.MAX_THREADS
                            + "], got "
                            + threads);
        }
        InetSocketAddress address = new InetSocketAddress(bind, port);
        if (address.isUnresolved()) {
            throw new ParameterException(
                    spec.commandLine(), "--bind " + bind + ": no such address or host name");
        }
        warnIfFleetRoot(out);
        PeerCacheServer server;
        try {
            server = PeerCacheServer.start(cacheDir, address, threads);
        } catch (java.net.BindException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "warmstage-serve-stop"));
        out.println(
                "serving "
                        + cacheDir.toAbsolutePath().normalize()
                        + " on "
                        + server.uri()
                        + "; peers read it with -D "
                        + CacheOptions.PEERS.key()
                        + "="
                        + server.uri());
        if (address.getAddress().isAnyLocalAddress()) {
            out.println(
                    "listening on every address of this host: give peers the name or address by"
                            + " which the fleet's network reaches it if it is not "
                            + server.uri().getHost());
        }
        out.flush();
        try {
            new java.util.concurrent.CountDownLatch(1).await(); // until the process is stopped
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            server.close();
        }
        return 0;
    }

    /**
     * Warns when the directory holds no entries but folders named {@code host-*}: the root of a
     * simulated fleet's caches, not one host's cache.
     */
    private void warnIfFleetRoot(PrintStream out) throws IOException {
        if (!new CacheDirectory(cacheDir).entries().isEmpty()) {
            return;
        }
        try (var children = Files.list(cacheDir)) {
            List<Path> hosts =
                    children.filter(Files::isDirectory)
                            .filter(p -> p.getFileName().toString().startsWith("host-"))
                            .toList();
            if (!hosts.isEmpty()) {
                out.println(
                        "warning: "
                                + cacheDir
                                + " holds no cache entries but "
                                + hosts.size()
                                + " host-* folders: serve one host's folder, e.g. "
                                + hosts.get(0));
            }
        }
    }

    private static String shorten(String token) {
        if (token == null) {
            return "-";
        }
        return token.length() <= 24 ? token : token.substring(0, 21) + "...";
    }
}
