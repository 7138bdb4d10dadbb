package io.warmstage.cache;

import com.fasterxml.jackson.core.type.TypeReference;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;

/**
 * SHA-256 pins of files (what the Hugging Face hub reports for LFS files, given in a manifest):
 * staged bytes must hash to them, and a cache entry keyed by one is trusted whatever the origin
 * says and shared by every URI that holds the same file. Carried in the job's configuration ({@link
 * CacheOptions#SHA256_PINS}) as a JSON object from file URI without credentials ({@link
 * Redaction#uri(String)}: the configuration is shown in the Web UI) to lower-case hex.
 */
public final class ContentPins {
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    private ContentPins() {}

    /**
     * The pins in {@code config}, by file URI (as the planner resolves it); empty when none.
     *
     * @throws IllegalArgumentException if the option is not a JSON object of SHA-256 hex values
     */
    public static Map<String, String> of(Configuration config) {
        String json = config.getOptional(CacheOptions.SHA256_PINS).orElse(null);
        if (json == null || json.isBlank()) {
            return Map.of();
        }
        Map<String, String> pins;
        try {
            pins = LocalCache.JSON.readValue(json, new TypeReference<TreeMap<String, String>>() {});
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    CacheOptions.SHA256_PINS.key() + ": not a JSON object: " + e, e);
        }
        pins.forEach(ContentPins::check);
        return Map.copyOf(pins);
    }

    /** The pin of the file at {@code uri} in {@code pins}, or null. */
    public static String pinOf(Map<String, String> pins, String uri) {
        return pins.isEmpty() ? null : pins.get(Redaction.uri(uri));
    }

    /** {@code pins} (by file URI) as the option's JSON value, the URIs without credentials. */
    public static String toJson(Map<String, String> pins) {
        try {
            Map<String, String> redacted = new TreeMap<>();
            pins.forEach((uri, sha) -> redacted.put(Redaction.uri(uri), sha));
            return LocalCache.JSON.writeValueAsString(redacted);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A SHA-256 as 64 lower-case hex digits.
     *
     * @throws IllegalArgumentException naming {@code what} if {@code hex} is not 64 hex digits
     */
    public static String normalize(String what, String hex) {
        String h = hex == null ? "" : hex.strip().toLowerCase(java.util.Locale.ROOT);
        check(what, h);
        return h;
    }

    private static void check(String what, String hex) {
        if (hex == null || !HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException(
                    what + ": sha256 must be 64 hex digits, got '" + hex + "'");
        }
    }
}
