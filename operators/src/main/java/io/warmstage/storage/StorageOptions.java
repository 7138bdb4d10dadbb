package io.warmstage.storage;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;

/** Configuration options of the storage layer ({@code warmstage.storage.*}). */
public final class StorageOptions {
    /** Environment variable read when {@link #HTTP_BEARER_TOKEN} is not set. */
    public static final String BEARER_TOKEN_ENV = "WARMSTAGE_HTTP_BEARER_TOKEN";

    public static final ConfigOption<Duration> HTTP_CONNECT_TIMEOUT =
            ConfigOptions.key("warmstage.storage.http.connect-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(10))
                    .withDescription("Limit for opening an HTTP(S) connection.");

    public static final ConfigOption<Duration> HTTP_REQUEST_TIMEOUT =
            ConfigOptions.key("warmstage.storage.http.request-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(60))
                    .withDescription(
                            "Limit for waiting on a pooled HTTP(S) connection and for each read"
                                    + " from its socket (the response headers, then each body"
                                    + " read). A body that trickles is bounded by the stall"
                                    + " timeout and the per-range budget.");

    /** Longest time a response body may deliver no byte. */
    public static final ConfigOption<Duration> HTTP_STALL_TIMEOUT =
            ConfigOptions.key("warmstage.storage.http.stall-timeout")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription(
                            "A response body that delivers no byte for this long is closed and"
                                    + " the read retried from the missing byte.");

    /** Pooled HTTP(S) connections of one store. */
    public static final ConfigOption<Integer> HTTP_MAX_CONNECTIONS =
            ConfigOptions.key("warmstage.storage.http.max-connections")
                    .intType()
                    .defaultValue(HttpObjectStore.DEFAULT_MAX_CONNECTIONS)
                    .withDescription(
                            "Keep-alive HTTP(S) connections one store keeps, per host and in"
                                    + " total; opened on demand. Keep it at or above"
                                    + " warmstage.source.reads-in-flight plus one for header"
                                    + " reads: a read waits for a free connection.");

    /** Flink masks values of keys containing "token" in logs and the Web UI. */
    public static final ConfigOption<String> HTTP_BEARER_TOKEN =
            ConfigOptions.key("warmstage.storage.http.bearer-token")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Bearer token sent as 'Authorization: Bearer <token>' on every HTTP(S)"
                                    + " request. When unset, the environment variable "
                                    + BEARER_TOKEN_ENV
                                    + " is used; when neither is set, no Authorization header.");

    /** Flink's own environment variable for the plugins directory (read when unset). */
    public static final String PLUGINS_DIR_ENV = "FLINK_PLUGINS_DIR";

    public static final ConfigOption<String> PLUGINS_DIR =
            ConfigOptions.key("warmstage.storage.plugins-dir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Flink plugins directory holding the s3:// and gs:// file systems, one"
                                    + " sub-directory per plugin (s3-fs-hadoop/, gs-fs-hadoop/)."
                                    + " Read only when Flink has not registered the scheme"
                                    + " already (embedded runner, library API). When unset, the"
                                    + " environment variable "
                                    + PLUGINS_DIR_ENV
                                    + ", then ./plugins.");

    public static final ConfigOption<Integer> RETRY_MAX_ATTEMPTS =
            ConfigOptions.key("warmstage.storage.retry.max-attempts")
                    .intType()
                    .defaultValue(RetryPolicy.defaults().maxAttempts())
                    .withDescription(
                            "Attempts in a row that may fail without receiving a byte before a"
                                    + " ranged read gives up. An attempt that received bytes"
                                    + " resets the count.");

    public static final ConfigOption<Duration> RETRY_INITIAL_BACKOFF =
            ConfigOptions.key("warmstage.storage.retry.initial-backoff")
                    .durationType()
                    .defaultValue(RetryPolicy.defaults().initialBackoff())
                    .withDescription(
                            "Upper bound of the first wait before a retry; doubles per failure"
                                    + " (full jitter).");

    public static final ConfigOption<Duration> RETRY_MAX_BACKOFF =
            ConfigOptions.key("warmstage.storage.retry.max-backoff")
                    .durationType()
                    .defaultValue(RetryPolicy.defaults().maxBackoff())
                    .withDescription("Cap on the wait before a retry.");

    public static final ConfigOption<Duration> RETRY_BUDGET =
            ConfigOptions.key("warmstage.storage.retry.budget-per-range")
                    .durationType()
                    .defaultValue(RetryPolicy.defaults().budget())
                    .withDescription(
                            "Time for one ranged read, retries and waits included, before it"
                                    + " gives up.");

    /** Wall time one file may spend retrying, from its first retry, over all of its ranges. */
    public static final ConfigOption<Duration> RETRY_BUDGET_PER_FILE =
            ConfigOptions.key("warmstage.storage.retry.budget-per-file")
                    .durationType()
                    .defaultValue(Duration.ofMinutes(10))
                    .withDescription(
                            "Wall time from a file's first retry after which, once its ranges"
                                    + " keep failing, the file fails.");

    private StorageOptions() {}

    /** The retry policy configured in {@code conf}. */
    public static RetryPolicy retryPolicy(Configuration conf) {
        try {
            return new RetryPolicy(
                    conf.get(RETRY_MAX_ATTEMPTS),
                    conf.get(RETRY_INITIAL_BACKOFF),
                    conf.get(RETRY_MAX_BACKOFF),
                    conf.get(RETRY_BUDGET));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "retry options ("
                            + RETRY_MAX_ATTEMPTS.key()
                            + ", "
                            + RETRY_INITIAL_BACKOFF.key()
                            + ", "
                            + RETRY_MAX_BACKOFF.key()
                            + ", "
                            + RETRY_BUDGET.key()
                            + "): "
                            + e.getMessage(),
                    e);
        }
    }
}
