package io.warmstage.storage;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed {@code Content-Range: bytes first-last/total} header (RFC 9110 section 14.4).
 *
 * @param first first byte sent, inclusive, in bytes
 * @param last last byte sent, inclusive, in bytes; -1 for an unsatisfied range ({@code bytes
 *     *&#47;total})
 * @param total object size in bytes; -1 when the server sent {@code *}
 */
record ContentRange(long first, long last, long total) {
    private static final Pattern SATISFIED =
            Pattern.compile("\\s*bytes\\s+(\\d{1,19})-(\\d{1,19})/(\\d{1,19}|\\*)\\s*");
    private static final Pattern UNSATISFIED = Pattern.compile("\\s*bytes\\s+\\*/(\\d{1,19})\\s*");

    /** Parses a header value; empty when it is not a valid byte Content-Range. */
    static Optional<ContentRange> parse(String header) {
        if (header == null) {
            return Optional.empty();
        }
        try {
            Matcher m = SATISFIED.matcher(header);
            if (m.matches()) {
                long total = "*".equals(m.group(3)) ? -1 : Long.parseLong(m.group(3));
                return valid(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), total);
            }
            Matcher u = UNSATISFIED.matcher(header);
            if (u.matches()) {
                return Optional.of(new ContentRange(-1, -1, Long.parseLong(u.group(1))));
            }
        } catch (NumberFormatException e) {
            return Optional.empty(); // over 2^63 - 1
        }
        return Optional.empty();
    }

    /** The value of a {@code Range} header for bytes {@code [offset, offset + length)}. */
    static String rangeHeader(long offset, long length) {
        return "bytes=" + offset + "-" + (Math.addExact(offset, length) - 1);
    }

    /** True if this is exactly {@code [offset, offset + length)} of an object of {@code size}. */
    boolean matches(long offset, long length, long size) {
        return first == offset && last == Math.addExact(offset, length) - 1 && total == size;
    }

    private static Optional<ContentRange> valid(long first, long last, long total) {
        if (last < first || (total >= 0 && last >= total)) {
            return Optional.empty();
        }
        return Optional.of(new ContentRange(first, last, total));
    }
}
