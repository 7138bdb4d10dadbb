package io.warmstage.staging;

import io.warmstage.source.ChunkRecord;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.util.Objects;

/**
 * One version of one file staged for one model: the key of a slot's maps of files. A refreshing job
 * stages a changed file again, so the version is part of the key.
 *
 * @param model the model the file is staged for; not null
 * @param file the file's URI and pinned version; not null
 */
record FileKey(String model, FileId file) {
    FileKey {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(file, "file");
    }

    /** The key of the file a record belongs to. */
    static FileKey of(ChunkRecord r) {
        return of(r.model, r.file, r.fileSize, r.etag);
    }

    /** The key of a file, from its model, URI, pinned size in bytes and ETag (or null). */
    static FileKey of(String model, String uri, long size, String etag) {
        return new FileKey(model, new FileId(uri, new ObjectVersion(size, etag)));
    }

    /** The same file at the same size with {@code etag}. */
    FileKey withEtag(String etag) {
        return of(model, file.uri(), file.size(), etag);
    }

    String uri() {
        return file.uri();
    }
}
