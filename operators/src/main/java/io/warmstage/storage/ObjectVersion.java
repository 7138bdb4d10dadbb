package io.warmstage.storage;

import java.io.Serializable;

/**
 * The version of an object seen when its header was read; every later read is pinned to it.
 *
 * @param size object size in bytes
 * @param etag the store's version token (HTTP/S3 ETag, GCS generation, or for file:// the
 *     last-modified time in nanoseconds), or null when the store gives none; then only the size
 *     pins the version
 */
public record ObjectVersion(long size, String etag) implements Serializable {
    public ObjectVersion {
        if (size < 0) {
            throw new IllegalArgumentException("negative object size " + size);
        }
    }

    @Override
    public String toString() {
        return etag == null ? size + " bytes" : size + " bytes, version " + etag;
    }
}
