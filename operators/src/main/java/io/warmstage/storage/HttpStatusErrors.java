package io.warmstage.storage;

import java.net.URI;
import java.util.Optional;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.MessageHeaders;

/**
 * Turns an unexpected HTTP status into a {@link StorageException} that names the method, host, path
 * (never the query, which may hold a presigned signature) and status.
 *
 * <p>Per DESIGN.md storage rules: 429 and 5xx (SlowDown included) are retryable; 412 is "object
 * changed"; 3xx, 401, 403, 404 and every other status fail at once.
 */
final class HttpStatusErrors {
    private HttpStatusErrors() {}

    /**
     * The exception for {@code status} in answer to {@code request} (e.g. {@code "GET bytes=0-99"})
     * on {@code uri}.
     */
    static StorageException of(String request, URI uri, int status, MessageHeaders headers) {
        String where = request + " " + Redaction.uri(uri) + ": HTTP " + status;
        if (status == 429 || status >= 500) {
            return new StorageException(where + " " + reason(status) + " (transient)", true);
        }
        if (status == 412) {
            return new StorageException(
                    "object changed: " + where + " Precondition Failed (ETag no longer matches)",
                    false);
        }
        if (status == 416) {
            return new StorageException(
                    "object changed: " + where + " Range Not Satisfiable (object is now smaller)",
                    false);
        }
        if (status == 200) {
            return new StorageException(
                    where + " with the whole object: the server ignored the range request", false);
        }
        if (status >= 300 && status < 400) {
            return new StorageException(
                    where + " " + reason(status) + redirectHint(headers), false);
        }
        return new StorageException(where + " " + reason(status), false);
    }

    /** The first value of header {@code name} (case-insensitive), or empty. */
    static Optional<String> first(MessageHeaders headers, String name) {
        Header h = headers.getFirstHeader(name);
        return h == null ? Optional.empty() : Optional.ofNullable(h.getValue());
    }

    private static String redirectHint(MessageHeaders headers) {
        StringBuilder b = new StringBuilder(" (not followed");
        Optional<String> region = first(headers, "x-amz-bucket-region");
        region.ifPresent(r -> b.append("; bucket is in region ").append(r));
        first(headers, "Location")
                .map(HttpStatusErrors::redactLocation)
                .ifPresent(l -> b.append("; Location: ").append(l));
        return b.append(')').toString();
    }

    private static String redactLocation(String location) {
        try {
            return Redaction.uri(URI.create(location));
        } catch (IllegalArgumentException e) {
            return "<unparseable>";
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 301 -> "Moved Permanently";
            case 302 -> "Found";
            case 303 -> "See Other";
            case 307 -> "Temporary Redirect";
            case 308 -> "Permanent Redirect";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden (access denied)";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable (SlowDown)";
            case 504 -> "Gateway Timeout";
            default -> "";
        };
    }
}
