package io.warmstage.storage;

import java.net.URI;

/**
 * Renders URIs for messages without credentials: no user info, no query (presigned URLs carry their
 * signature there), no fragment. Storage rules (DESIGN.md): never log credentials.
 */
public final class Redaction {
    private Redaction() {}

    /** {@code scheme://host[:port]/path}, with {@code ?…} when a query was dropped. */
    public static String uri(URI uri) {
        if (uri.getScheme() == null || "file".equals(uri.getScheme())) {
            return uri.getRawPath() == null ? "<opaque uri>" : pathOnly(uri);
        }
        StringBuilder b = new StringBuilder().append(uri.getScheme()).append("://");
        b.append(uri.getHost() == null ? "" : uri.getHost());
        if (uri.getPort() >= 0) {
            b.append(':').append(uri.getPort());
        }
        b.append(path(uri));
        if (uri.getRawQuery() != null) {
            b.append("?…");
        }
        return b.toString();
    }

    /** The raw path of {@code uri}, or {@code /} when it has none. */
    static String path(URI uri) {
        String p = uri.getRawPath();
        return p == null || p.isEmpty() ? "/" : p;
    }

    private static String pathOnly(URI uri) {
        return uri.getScheme() == null ? uri.getRawPath() : "file:" + uri.getRawPath();
    }
}
