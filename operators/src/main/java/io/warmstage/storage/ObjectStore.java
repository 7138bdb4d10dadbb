package io.warmstage.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;

/**
 * One storage backend (file://, http(s)://, s3://, gs://), chosen by URI scheme through {@link
 * ObjectStores}. The copy engine knows nothing of any one backend.
 *
 * <p>Implementations are thread-safe: several ranged reads run at once.
 */
public interface ObjectStore extends Closeable {

    /**
     * Returns the object's current size and version token.
     *
     * @throws StorageException with {@code retryable() == false} for 301/403/404 and a missing
     *     file, naming host or bucket, key and status; retryable for 5xx and resets
     */
    ObjectVersion stat(URI uri) throws IOException;

    /**
     * Opens bytes {@code [offset, offset + length)} of the object as it was at {@code pinned}.
     *
     * <p>The stream yields exactly {@code length} bytes or throws: a response that is not the
     * requested range (a 200 to a range request, a Content-Range that does not match, a
     * Content-Encoding other than identity) or a changed version is a {@link StorageException},
     * never data. A body that ends early throws a retryable {@link StorageException} from {@code
     * read}. Closing the stream before its end aborts the connection rather than draining it.
     *
     * @param offset first byte, 0-based, in bytes
     * @param length number of bytes, at least 1
     */
    InputStream openRange(URI uri, ObjectVersion pinned, long offset, long length)
            throws IOException;
}
