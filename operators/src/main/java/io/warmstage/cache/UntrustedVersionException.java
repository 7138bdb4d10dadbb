package io.warmstage.cache;

import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.net.URI;

/**
 * A copy of this object is not cached: its origin gives no strong version token, so a rewrite of
 * the same size could not be told apart from the cached copy. The message names the origin, not the
 * file, so that it reads the same for every file of one origin.
 */
public final class UntrustedVersionException extends IOException {
    private static final long serialVersionUID = 1L;

    UntrustedVersionException(URI uri, ObjectVersion version) {
        super(
                "not cached: "
                        + origin(uri)
                        + (version.etag() == null
                                ? " sends no ETag or Last-Modified"
                                : " sends only a weak ETag")
                        + ", so a rewritten file could not be told apart from a cached copy"
                        + " (pin files by sha256 in the manifest to cache them)");
    }

    /** {@code scheme://host[:port]} without credentials: what the warning is given once for. */
    static String origin(URI uri) {
        String r = Redaction.uri(uri);
        int path = r.indexOf('/', r.indexOf("//") + 2);
        return path < 0 ? r : r.substring(0, path);
    }
}
