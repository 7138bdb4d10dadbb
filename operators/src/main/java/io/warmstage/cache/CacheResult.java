package io.warmstage.cache;

import java.util.Objects;

/**
 * What {@link CacheWriter} did with one file, a Flink POJO: {@code published} (with the data file's
 * path), {@code failed} (with the reason; nothing was published) or {@code aborted}.
 */
public class CacheResult {
    /** Status of a file written and published. */
    public static final String PUBLISHED = "published";

    /** Status of a file whose writes or commit failed; nothing was published. */
    public static final String FAILED = "failed";

    /** Status of a file dropped on request. */
    public static final String ABORTED = "aborted";

    /** Status of a cached copy found corrupt (and removed) before this file was written again. */
    public static final String CORRUPT = "corrupt";

    /** The object's URI. */
    public String uri;

    /** {@link #PUBLISHED}, {@link #FAILED}, {@link #ABORTED} or {@link #CORRUPT}. */
    public String status;

    /** The published data file's path; null unless published. */
    public String path;

    /** Bytes published (the file size); 0 unless published. */
    public long bytes;

    /** Why it failed or was aborted; null when published. */
    public String reason;

    /** For Flink's PojoSerializer. */
    public CacheResult() {}

    static CacheResult published(String uri, String path, long bytes) {
        return of(uri, PUBLISHED, path, bytes, null);
    }

    static CacheResult failed(String uri, String reason) {
        return of(uri, FAILED, null, 0, reason);
    }

    static CacheResult corrupt(String uri, String reason) {
        return of(uri, CORRUPT, null, 0, reason);
    }

    static CacheResult aborted(String uri, String reason) {
        return of(uri, ABORTED, null, 0, reason);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CacheResult r
                && bytes == r.bytes
                && Objects.equals(uri, r.uri)
                && Objects.equals(status, r.status)
                && Objects.equals(path, r.path)
                && Objects.equals(reason, r.reason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(uri, status, path, bytes, reason);
    }

    @Override
    public String toString() {
        return status
                + " "
                + uri
                + (path != null ? " -> " + path : "")
                + (reason != null ? ": " + reason : "");
    }

    private static CacheResult of(
            String uri, String status, String path, long bytes, String reason) {
        CacheResult r = new CacheResult();
        r.uri = uri;
        r.status = status;
        r.path = path;
        r.bytes = bytes;
        r.reason = reason;
        return r;
    }
}
