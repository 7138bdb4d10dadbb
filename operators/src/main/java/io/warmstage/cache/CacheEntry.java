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
 * @param headerCrc32c CRC-32C of the file's first {@code 8 + N} bytes (length prefix and header
 *     JSON) as an unsigned 32-bit value, or null for an entry written before it was recorded or a
 *     file that is not valid safetensors
 * @param tensorCrc32c CRC-32C of each tensor's bytes as unsigned 32-bit values, in the order of the
 *     tensors' data offsets (the tensors tile the data section, so with {@code headerCrc32c} they
 *     cover every byte of the file), or null as for {@code headerCrc32c}. A cache hit checks each
 *     tensor against it while the tensor is staged, instead of reading the whole copy first.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.ALWAYS)
public record CacheEntry(
        String uri,
        long size,
        String etag,
        Long crc32c,
        String sha256,
        String createdAt,
        Long headerCrc32c,
        java.util.List<Long> tensorCrc32c) {

    /** An entry without per-tensor checksums (checked as a whole file on a hit). */
    public CacheEntry(
            String uri, long size, String etag, Long crc32c, String sha256, String createdAt) {
        this(uri, size, etag, crc32c, sha256, createdAt, null, null);
    }

    /**
     * True when a hit on this entry can be checked while it is staged: it records the header's and
     * every tensor's CRC-32C.
     */
    public boolean checkableWhileStaged() {
        return headerCrc32c != null && tensorCrc32c != null;
    }

    /** {@link #tensorCrc32c} as signed ints (the bit patterns), or null. */
    public int[] tensorCrcs() {
        return tensorCrc32c == null
                ? null
                : tensorCrc32c.stream().mapToInt(Long::intValue).toArray();
    }

    /** True when this entry describes exactly {@code uri} at {@code version}. */
    public boolean matches(URI uri, ObjectVersion version) {
        return (Redaction.uri(uri).equals(this.uri) || uri.toString().equals(this.uri))
                && version.size() == size
                && Objects.equals(version.etag(), etag);
    }
}
