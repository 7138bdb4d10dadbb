package io.warmstage.storage;

import java.util.Optional;
import org.apache.hc.core5.http.MessageHeaders;

/**
 * Version tokens of HTTP objects, kept in {@link ObjectVersion#etag()}.
 *
 * <p>A token is a strong ETag exactly as the server sent it ({@code "abc"}); else, when the server
 * sends a Last-Modified, {@code last-modified:} followed by its value; else a weak ETag ({@code
 * W/"abc"}), which the cache does not trust. Only a strong ETag can be pinned with {@code If-Match}
 * (RFC 9110 section 13.1.1 uses the strong comparison); the others are pinned by comparing the
 * response's validators.
 */
final class HttpVersionTokens {
    static final String LAST_MODIFIED_PREFIX = "last-modified:";

    private HttpVersionTokens() {}

    /** The token for a response's headers, or null when it has neither ETag nor Last-Modified. */
    static String of(MessageHeaders headers) {
        Optional<String> etag =
                HttpStatusErrors.first(headers, "ETag").map(String::trim).filter(e -> !e.isEmpty());
        if (etag.isPresent() && isStrongEtag(etag.get())) {
            return etag.get();
        }
        Optional<String> lastModified = HttpStatusErrors.first(headers, "Last-Modified");
        if (lastModified.isPresent()) {
            return LAST_MODIFIED_PREFIX + lastModified.get();
        }
        return etag.orElse(null);
    }

    /** True if {@code token} is a strong ETag, usable in {@code If-Match}. */
    static boolean isStrongEtag(String token) {
        return token != null && token.startsWith("\"");
    }

    /** The Last-Modified value of a token made from it, or empty. */
    static Optional<String> lastModified(String token) {
        if (token == null || !token.startsWith(LAST_MODIFIED_PREFIX)) {
            return Optional.empty();
        }
        return Optional.of(token.substring(LAST_MODIFIED_PREFIX.length()));
    }

    /**
     * True if a response's validators show a version other than {@code pinned}: a different ETag
     * (weak comparison) or, for a Last-Modified token, a different Last-Modified. Missing
     * validators show nothing.
     */
    static boolean changed(String pinned, MessageHeaders response) {
        if (pinned == null) {
            return false;
        }
        Optional<String> lastModified = lastModified(pinned);
        if (lastModified.isPresent()) {
            Optional<String> now = HttpStatusErrors.first(response, "Last-Modified");
            return now.isPresent() && !now.get().equals(lastModified.get());
        }
        Optional<String> etag = HttpStatusErrors.first(response, "ETag");
        return etag.isPresent() && !opaque(etag.get()).equals(opaque(pinned));
    }

    private static String opaque(String etag) {
        String t = etag.trim();
        return t.startsWith("W/") ? t.substring(2) : t;
    }
}
