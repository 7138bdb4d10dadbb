package io.warmstage.cache;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.net.URI;
import java.util.Objects;

/**
 * The sidecar {@code <key>.entry.json} of a published cache entry: which object version the data
 * file holds and what it was verified against.
 *
 * @param uri the object's URI without credentials ({@link Redaction#uri(URI)}); entries written
 *     before redaction hold the URI as given
 * @param size object size in bytes
 * @param etag the pinned version token, or null when the store gives none
 * @param crc32c CRC-32C of the whole file as an unsigned 32-bit value, or null if unknown
 * @param sha256 SHA-256 of the whole file in lower-case hex, or null if unknown
 * @param createdAt when the entry was published, ISO-8601 UTC
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.ALWAYS)
public record CacheEntry(
        String uri, long size, String etag, Long crc32c, String sha256, String createdAt) {

    /** True when this entry describes exactly {@code uri} at {@code version}. */
    public boolean matches(URI uri, ObjectVersion version) {
        return (Redaction.uri(uri).equals(this.uri) || uri.toString().equals(this.uri))
                && version.size() == size
                && Objects.equals(version.etag(), etag);
    }
}
