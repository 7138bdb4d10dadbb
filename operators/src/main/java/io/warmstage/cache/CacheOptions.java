package io.warmstage.cache;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * Options of the host-local cache: its size cap, the time an entry counts as in use, and the
 * SHA-256 pins of files. The cache's directory is {@code HostOptions.CACHE_DIR}; {@code
 * WeightSourceOptions} names the same options under their old names.
 */
public final class CacheOptions {
    private CacheOptions() {}

    /** Size cap in bytes of each host's cache directory (published data files), or none. */
    public static final ConfigOption<MemorySize> CACHE_MAX_SIZE =
            ConfigOptions.key("warmstage.cache.max-size")
                    .memoryType()
                    .noDefaultValue()
                    .withDescription(
                            "Size cap of each host's cache directory (published data files). After"
                                    + " each publish, least-recently-used entries not in use are"
                                    + " evicted until the data fits. Unset: no cap.");

    /** How long after a reader found an entry it is taken as in use and not evicted. */
    public static final ConfigOption<Duration> CACHE_IN_USE =
            ConfigOptions.key("warmstage.cache.in-use")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(10))
                    .withDescription(
                            "A cache entry found by a reader within this time is taken as being"
                                    + " read by a running job and is not evicted (every ranged"
                                    + " read of a cached copy finds it anew).");

    /** SHA-256 pins of files as a JSON object from file URI to hex ({@link ContentPins}). */
    public static final ConfigOption<String> SHA256_PINS =
            ConfigOptions.key("warmstage.source.sha256-pins")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "JSON object from file URI to the SHA-256 its bytes must have (set"
                                    + " from a manifest's sha256 fields): a file whose staged"
                                    + " bytes differ fails; its cache entry is keyed by the"
                                    + " SHA-256.");

    /**
     * Peer hosts whose caches serve this job's files ({@link PeerCacheServer}), as base URIs
     * ({@code http://host:port}), separated by {@code ;}.
     */
    public static final ConfigOption<List<String>> PEERS =
            ConfigOptions.key("warmstage.cache.peers")
                    .stringType()
                    .asList()
                    .noDefaultValue()
                    .withDescription(
                            "Base URIs (http://host:port, separated by ;) of hosts that serve"
                                    + " their cache with 'warmstage cache serve'. A file this"
                                    + " host's cache lacks is read from a peer that holds the"
                                    + " same version (checked per tensor against the peer's"
                                    + " CRC-32Cs while staged), else from the origin. The"
                                    + " origin's credentials are never sent to a peer.");

    /**
     * How long a reader waits for a peer to accept a connection, and then for each of its answers
     * to whether it holds a file, before it reads from the origin instead.
     */
    public static final ConfigOption<Duration> PEER_TIMEOUT =
            ConfigOptions.key("warmstage.cache.peer-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(2))
                    .withDescription(
                            "Time for a peer's cache server to accept a connection, and then to"
                                    + " answer each question whether it holds a file; a peer"
                                    + " that does not is skipped for a minute. Reads of a copy's"
                                    + " bytes use the HTTP store's timeouts.");
}
