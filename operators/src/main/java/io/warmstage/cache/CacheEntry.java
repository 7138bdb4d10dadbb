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

    /**
     * @throws IllegalArgumentException if a recorded checksum is null or not an unsigned 32-bit
     *     value: such a sidecar was not written by a cache writer and is not trusted (a lookup
     *     removes the entry and fetches the file again)
     */
    public CacheEntry {
        if (tensorCrc32c != null) {
            for (int i = 0; i < tensorCrc32c.size(); i++) {
                Long c = tensorCrc32c.get(i);
                if (c == null || c < 0 || c > 0xFFFF_FFFFL) {
                    throw new IllegalArgumentException(
                            "tensorCrc32c[" + i + "] is " + c + ", not an unsigned 32-bit value");
                }
            }
            tensorCrc32c = java.util.List.copyOf(tensorCrc32c);
        }
        if (headerCrc32c != null && (headerCrc32c < 0 || headerCrc32c > 0xFFFF_FFFFL)) {
            throw new IllegalArgumentException(
                    "headerCrc32c is " + headerCrc32c + ", not an unsigned 32-bit value");
        }
    }

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

    /** This entry with {@code uri} in place of its URI (to redact one written before redaction). */
    public CacheEntry withUri(String uri) {
        return new CacheEntry(
                uri, size, etag, crc32c, sha256, createdAt, headerCrc32c, tensorCrc32c);
    }

    /** True when this entry describes exactly {@code uri} at {@code version}. */
    public boolean matches(URI uri, ObjectVersion version) {
        return (Redaction.uri(uri).equals(this.uri) || uri.toString().equals(this.uri))
                && version.size() == size
                && Objects.equals(version.etag(), etag);
    }
}
