package io.warmstage.device;

import java.util.Locale;

/** Formats byte counts for error messages: exact bytes and GiB. */
final class Sizes {
    private static final double GIB = 1024.0 * 1024 * 1024;

    private Sizes() {}

    /** {@code "1073741824 bytes (1.00 GiB)"}. */
    static String describe(long bytes) {
        return String.format(Locale.ROOT, "%d bytes (%.2f GiB)", bytes, bytes / GIB);
    }
}
