package io.warmstage.storage;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AccessDeniedException;

/**
 * Maps the exceptions of Flink's Hadoop-based file systems (S3A in {@code flink-s3-fs-hadoop}, the
 * GCS connector in {@code flink-gs-fs-hadoop}) to {@link StorageException}s that name the bucket,
 * the key and the status (DESIGN.md storage rules: fail fast on 301/403/404, retry the rest).
 *
 * <p>Plugin classes live in their own class loader, so Hadoop's exception types are recognised by
 * class name along the exception's class hierarchy. Messages carry no credentials: only the URI
 * (redacted), the operation, the status and, for retryable faults, the exception's type and first
 * message line.
 */
final class FlinkFsErrors {
    /** The operation name for creating the file system: always final (configuration). */
    static final String FILE_SYSTEM = "file system";

    private FlinkFsErrors() {}

    /**
     * The {@link StorageException} for {@code e}, raised by {@code operation} on {@code uri}.
     *
     * <ul>
     *   <li>{@link FileNotFoundException}: "not found (404)", not retryable
     *   <li>{@link AccessDeniedException}: "access denied (403)", not retryable
     *   <li>Hadoop {@code UnknownStoreException}: "bucket not found (404)", not retryable
     *   <li>Hadoop {@code RemoteFileChangedException}: "object changed (412)", not retryable
     *   <li>Hadoop {@code AWSRedirectException}: "redirected (301)", not retryable
     *   <li>Hadoop {@code AWSBadRequestException}: "bad request (400)", not retryable
     *   <li>any failure to create the file system ({@link #FILE_SYSTEM}: no credentials, bad
     *       settings): not retryable, with the root cause's first line
     *   <li>anything else (5xx, throttling, resets): retryable
     * </ul>
     */
    static StorageException map(URI uri, String operation, IOException e) {
        if (e instanceof StorageException se) {
            return se;
        }
        String where = where(uri) + ": " + operation + ": ";
        if (FILE_SYSTEM.equals(operation)) {
            return new StorageException(
                    where
                            + "cannot create the "
                            + uri.getScheme()
                            + ":// file system (check its credentials and settings): "
                            + firstLine(e.getMessage())
                            + rootCause(e),
                    false,
                    e);
        }
        if (e instanceof FileNotFoundException) {
            return new StorageException(where + "not found (404)", false, e);
        }
        if (e instanceof AccessDeniedException) {
            return new StorageException(
                    where + "access denied (403); check the credentials and the bucket policy",
                    false,
                    e);
        }
        String status = finalStatus(e);
        if (status != null) {
            return new StorageException(where + status, false, e);
        }
        return new StorageException(
                where + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage()), true, e);
    }

    /** {@code s3://bucket/key (bucket 'bucket', key 'key')}. */
    static String where(URI uri) {
        String path = Redaction.path(uri);
        String key = path.startsWith("/") ? path.substring(1) : path;
        return Redaction.uri(uri) + " (bucket '" + uri.getHost() + "', key '" + key + "')";
    }

    private static String finalStatus(IOException e) {
        for (Class<?> c = e.getClass(); c != null; c = c.getSuperclass()) {
            switch (c.getSimpleName()) {
                case "UnknownStoreException":
                    return "bucket not found (404)";
                case "RemoteFileChangedException":
                    return "object changed (412): it was overwritten while being read";
                case "AWSRedirectException":
                    return "redirected (301): wrong region or endpoint for this bucket";
                case "AWSBadRequestException":
                    return "bad request (400): " + firstLine(e.getMessage());
                case "UnsupportedFileSystemSchemeException":
                    return "no Flink file system for this scheme: " + firstLine(e.getMessage());
                default:
                    break;
            }
        }
        return null;
    }

    private static String rootCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? "" : " (cause: " + firstLine(root.getMessage()) + ")";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
