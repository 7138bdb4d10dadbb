package io.warmstage.format;

import io.warmstage.format.SafetensorsException.Reason;
import java.nio.charset.StandardCharsets;

/**
 * Recognises text where a safetensors length field should be: a Git LFS pointer, an HTML or XML
 * page (an error page served instead of the object), or any other text.
 *
 * <p>Safe for real files: 8 printable ASCII bytes read as a little-endian length are at least
 * 0x0909090909090909, far over the 100,000,000-byte header limit, so such a file would be rejected
 * anyway; this only gives a clearer message.
 */
final class TextSniffer {
    private static final String LFS_PREFIX = "version ";

    private TextSniffer() {}

    /** Throws NOT_SAFETENSORS when all of the first 8 bytes are printable ASCII or whitespace. */
    static void rejectText(byte[] first8, String file) throws SafetensorsException {
        for (int i = 0; i < 8; i++) {
            if (!isText(first8[i])) {
                return;
            }
        }
        throw new SafetensorsException(
                Reason.NOT_SAFETENSORS,
                file,
                null,
                "not a safetensors file: looks like " + describe(first8));
    }

    private static String describe(byte[] first8) {
        String start = new String(first8, 0, 8, StandardCharsets.US_ASCII);
        if (start.equals(LFS_PREFIX)) {
            return "a Git LFS pointer (fetch the object with git lfs, not the pointer)";
        }
        String trimmed = start.strip();
        if (trimmed.startsWith("<")) {
            return "an HTML or XML page (an error page from the server?)";
        }
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            return "JSON text";
        }
        return "text starting \"" + start.replaceAll("\\s", " ") + "\"";
    }

    private static boolean isText(byte b) {
        return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\n' || b == '\r';
    }
}
