package io.warmstage.storage;

import java.io.Serializable;

/**
 * The version of an object seen when its header was read; every later read is pinned to it.
 *
 * @param size object size in bytes
 * @param etag the store's version token (HTTP/S3 ETag, GCS generation, or for file:// {@code <mtime
 *     ns>/<ctime ns>/<inode>}), or null when the store gives none; then only the size pins the
 *     version
 */
public record ObjectVersion(long size, String etag) implements Serializable {
    public ObjectVersion {
        if (size < 0) {
            throw new IllegalArgumentException("negative object size " + size);
        }
    }

    /**
     * True if {@code expected} (a manifest's {@code version}) names this version: the token itself,
     * or for a file the modification time in nanoseconds alone (what earlier versions printed).
     */
    public boolean hasToken(String expected) {
        if (expected.equals(etag)) {
            return true;
        }
        return etag != null
                && FILE_TOKEN.matcher(etag).matches()
                && etag.startsWith(expected + "/")
                && expected.chars().allMatch(Character::isDigit);
    }

    private static final java.util.regex.Pattern FILE_TOKEN =
            java.util.regex.Pattern.compile("-?\\d+/-?\\d+/-?\\d+");

    @Override
    public String toString() {
        return etag == null ? size + " bytes" : size + " bytes, version " + etag;
    }
}
