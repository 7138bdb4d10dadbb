package io.warmstage.storage;

import java.io.Serializable;
import java.util.Objects;

/**
 * One version of one stored file: its URI (credentials redacted, as {@link Redaction} writes it)
 * and the {@link ObjectVersion} (size in bytes and ETag or file token) read when it was planned.
 *
 * <p>This is the key every map of files uses (staging state, cache claims, a reader's failed
 * files): two versions of the same URI are different files, so a refreshed file never inherits the
 * state of the version it replaces.
 *
 * @param uri the file's URI; not null
 * @param version its size and ETag; not null
 */
public record FileId(String uri, ObjectVersion version) implements Serializable {
    public FileId {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(version, "version");
    }

    /** The file's size in bytes, from its version. */
    public long size() {
        return version.size();
    }

    @Override
    public String toString() {
        return uri + " (" + version + ")";
    }
}
