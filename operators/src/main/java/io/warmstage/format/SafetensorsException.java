package io.warmstage.format;

/**
 * The one error type for a safetensors file or sharded index that breaks a format rule.
 *
 * <p>Each instance carries a {@link Reason} (one per rule, as in the reference implementation's
 * {@code SafeTensorError}), the file it was found in and, where there is one, the tensor name. The
 * message is one line meant for users: it names the file, the tensor or range, and the rule.
 * Control characters from the file (a tensor name with a newline, say) are escaped as Java unicode
 * escapes (backslash, u, four hex digits) so that the message stays on one line.
 */
public final class SafetensorsException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The rule a file or index broke. */
    public enum Reason {
        /** Fewer than 8 bytes: no header length field. */
        HEADER_TOO_SMALL,
        /** The header length N exceeds 100,000,000 bytes. */
        HEADER_TOO_LARGE,
        /** 8 + N is larger than the file. */
        INVALID_HEADER_LENGTH,
        /** The file is a Git LFS pointer, an HTML/XML page or other text, not safetensors. */
        NOT_SAFETENSORS,
        /** The header bytes are not valid UTF-8. */
        INVALID_HEADER_UTF8,
        /** The header does not start with '{' (after JSON whitespace). */
        INVALID_HEADER_START,
        /** The header is not a JSON object of the expected shape, or has bytes after it. */
        INVALID_HEADER_JSON,
        /** The same key appears twice in the header. */
        DUPLICATE_KEY,
        /** {@code __metadata__} is not a string-to-string map or null. */
        INVALID_METADATA,
        /**
         * A tensor entry lacks dtype, shape or data_offsets, or has mistyped ones (extra fields are
         * ignored, like the reference).
         */
        INVALID_TENSOR_ENTRY,
        /** The dtype name is not one of the known dtypes. */
        UNKNOWN_DTYPE,
        /** A shape dimension is negative or not an integer. */
        INVALID_SHAPE,
        /** data_offsets is not two non-negative integers with begin <= end. */
        INVALID_OFFSETS,
        /** product(shape) * bits(dtype) overflows 64 bits. */
        VALIDATION_OVERFLOW,
        /** end - begin differs from product(shape) * bits(dtype) / 8, or is not whole bytes. */
        TENSOR_INVALID_INFO,
        /** Sorted by begin, the tensors leave a gap or overlap. */
        INVALID_OFFSET_TILING,
        /** 8 + N + last end differs from the file size. */
        METADATA_INCOMPLETE_BUFFER,
        /** A model.safetensors.index.json that is not valid. */
        INVALID_INDEX,
        /** The index names a shard that is not there. */
        MISSING_SHARD,
        /** The index names a tensor that its shard lacks. */
        MISSING_TENSOR,
        /** The index's metadata.total_size differs from the sum of the tensors' bytes. */
        TOTAL_SIZE_MISMATCH
    }

    private final Reason reason;
    private final String file;
    private final String tensor;

    /**
     * @param reason the rule broken
     * @param file the file or URI the rule was broken in (may be null while parsing bytes)
     * @param tensor the tensor concerned, or null
     * @param detail plain words: what was found and what the rule wants
     */
    public SafetensorsException(Reason reason, String file, String tensor, String detail) {
        super(format(file, tensor, detail));
        this.reason = reason;
        this.file = file;
        this.tensor = tensor;
    }

    /** Returns the same error attributed to {@code file}. */
    public SafetensorsException inFile(String file) {
        if (this.file != null) {
            return this;
        }
        SafetensorsException e = new SafetensorsException(reason, file, tensor, detail());
        e.setStackTrace(getStackTrace());
        return e;
    }

    public Reason reason() {
        return reason;
    }

    /** The file or URI, or null if not known. */
    public String file() {
        return file;
    }

    /** The tensor name, or null if the error is not about one tensor. */
    public String tensor() {
        return tensor;
    }

    /** The message without the file prefix. */
    public String detail() {
        String m = getMessage();
        String prefix = file == null ? "" : oneLine(file) + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    private static String format(String file, String tensor, String detail) {
        StringBuilder sb = new StringBuilder();
        if (file != null) {
            sb.append(file).append(": ");
        }
        if (tensor != null && !oneLine(detail).contains(oneLine(tensor))) {
            sb.append("tensor '").append(tensor).append("': ");
        }
        return oneLine(sb.append(detail).toString());
    }

    /** Escapes ISO control characters (C0, DEL, C1) and line/paragraph separators. */
    private static String oneLine(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean escape = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
            if (escape && sb == null) {
                sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (escape) {
                sb.append(String.format("\\u%04x", (int) c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }
}
