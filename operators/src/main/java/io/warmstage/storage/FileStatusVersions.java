package io.warmstage.storage;

import java.lang.reflect.Method;
import org.apache.flink.core.fs.FileStatus;

/**
 * The {@link ObjectVersion} of a Flink {@link FileStatus}: its length, and as version token the
 * object's ETag where the file system exposes one, else its modification time.
 *
 * <p>Flink's {@link FileStatus} has no ETag. Flink's Hadoop-based file systems wrap Hadoop's status
 * ({@code getInternalFileStatus()}), and S3A's status implements Hadoop's public {@code
 * org.apache.hadoop.fs.EtagSource} ({@code getEtag()}, Hadoop 3.3.2+). Both live in the plugin's
 * class loader, so they are called by name; when either is missing or yields nothing, the token is
 * {@code mtime:<epoch ms>} and pinning is size + modification time (S3's Last-Modified has
 * one-second resolution: an overwrite with the same size within the same second goes unseen).
 */
final class FileStatusVersions {
    private FileStatusVersions() {}

    /**
     * {@code size = status.getLen()} in bytes; token {@code etag:<ETag>}, else {@code mtime:<epoch
     * ms>}, else null (size only) when the modification time is unknown (0).
     */
    static ObjectVersion of(FileStatus status) {
        String etag = etag(status);
        if (etag != null) {
            return new ObjectVersion(status.getLen(), "etag:" + etag);
        }
        long mtime = status.getModificationTime();
        return new ObjectVersion(status.getLen(), mtime > 0 ? "mtime:" + mtime : null);
    }

    /** The ETag behind {@code status}, or null when the file system exposes none. */
    static String etag(FileStatus status) {
        try {
            Method internal = status.getClass().getMethod("getInternalFileStatus");
            Object hadoopStatus = internal.invoke(status);
            if (hadoopStatus == null) {
                return null;
            }
            Object etag = hadoopStatus.getClass().getMethod("getEtag").invoke(hadoopStatus);
            return etag instanceof String s && !s.isEmpty() ? s : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
