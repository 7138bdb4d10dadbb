package io.warmstage.staging;

/**
 * A file staged from a host's cached copy whose bytes do not match the checksums its cache entry
 * recorded (the header's or a tensor's CRC-32C): the copy is corrupt. Staging removes the copy and
 * fetches the file again from the origin; nothing of the mismatching bytes is reported.
 */
final class CachedCopyMismatch extends Exception {
    private static final long serialVersionUID = 1L;

    private final String detail;

    /**
     * @param file the file's URI (redacted)
     * @param detail what did not match, e.g. {@code tensor x: CRC-32C 1234abcd, the cache entry's
     *     89abcdef}
     */
    CachedCopyMismatch(String file, String detail) {
        super(
                file
                        + ": cached copy (this host's or a peer's) does not match its cache entry ("
                        + detail
                        + ")");
        this.detail = detail;
    }

    /** What did not match, without the file. */
    String detail() {
        return detail;
    }
}
