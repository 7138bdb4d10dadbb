package io.warmstage.format;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.warmstage.format.SafetensorsException.Reason;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads one tensor entry {@code {"dtype", "shape", "data_offsets"}} and checks it on its own: known
 * dtype, non-negative shape, two offsets with begin <= end, and end - begin equal to product(shape)
 * * bits(dtype) / 8 in checked 64-bit math (reference: {@code Metadata::validate}). Extra fields
 * are skipped: the reference's {@code TensorInfo} has no {@code deny_unknown_fields}.
 */
final class TensorEntryReader {
    private static final int SHAPE_SHOWN = 8;

    private TensorEntryReader() {}

    /** Reads the entry whose START_OBJECT is the parser's current token. */
    static TensorInfo read(JsonParser p, String name) throws IOException, SafetensorsException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw error(
                    Reason.INVALID_TENSOR_ENTRY,
                    name,
                    "must be an object with dtype, shape and data_offsets, found "
                            + describe(p.currentToken()));
        }
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> dtypeName = readDtypeName(p, name);
                case "shape" -> shape = readShape(p, name);
                case "data_offsets" -> offsets = readOffsets(p, name);
                // The reference's TensorInfo has no deny_unknown_fields: serde skips others.
                default -> p.skipChildren();
            }
        }
        if (dtypeName == null || shape == null || offsets == null) {
            throw error(
                    Reason.INVALID_TENSOR_ENTRY,
                    name,
                    "lacks "
                            + (dtypeName == null
                                    ? "dtype"
                                    : shape == null ? "shape" : "data_offsets"));
        }
        return check(name, dtypeName, shape, offsets[0], offsets[1]);
    }

    /** Describes a JSON token in words, for messages. */
    static String describe(JsonToken t) {
        if (t == null) {
            return "the end of the header";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    private static TensorInfo check(
            String name, String dtypeName, long[] shape, long begin, long end)
            throws SafetensorsException {
        Dtype dtype = Dtype.fromName(dtypeName);
        if (dtype == null) {
            throw error(
                    Reason.UNKNOWN_DTYPE,
                    name,
                    "tensor '"
                            + name
                            + "' has unknown dtype '"
                            + dtypeName
                            + "' (dtype names are case-sensitive, e.g. F32, BF16, F8_E4M3)");
        }
        if (end < begin) {
            throw error(
                    Reason.INVALID_OFFSETS,
                    name,
                    "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        long bits = bits(name, dtype, shape);
        if (bits % 8 != 0 || end - begin != bits / 8) {
            throw error(
                    Reason.TENSOR_INVALID_INFO,
                    name,
                    "data_offsets ["
                            + begin
                            + ", "
                            + end
                            + ") hold "
                            + (end - begin)
                            + " bytes but shape "
                            + shapeText(shape)
                            + " of "
                            + dtype
                            + " needs "
                            + (bits % 8 != 0
                                    ? bits + " bits, not a whole number of bytes"
                                    : (bits / 8) + " bytes"));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long bits(String name, Dtype dtype, long[] shape) throws SafetensorsException {
        try {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return Math.multiplyExact(n, dtype.bits());
        } catch (ArithmeticException e) {
            throw error(
                    Reason.VALIDATION_OVERFLOW,
                    name,
                    "shape " + shapeText(shape) + " of " + dtype + " overflows 64-bit arithmetic");
        }
    }

    private static String readDtypeName(JsonParser p, String name)
            throws IOException, SafetensorsException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw error(
                    Reason.INVALID_TENSOR_ENTRY,
                    name,
                    "dtype must be a string, found " + describe(p.currentToken()));
        }
        return p.getText();
    }

    private static long[] readShape(JsonParser p, String name)
            throws IOException, SafetensorsException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw error(
                    Reason.INVALID_TENSOR_ENTRY,
                    name,
                    "shape must be an array, found " + describe(p.currentToken()));
        }
        long[] dims = new long[4];
        int rank = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            long d = readNonNegative(p);
            if (d < 0) {
                throw error(
                        Reason.INVALID_SHAPE,
                        name,
                        "shape dimension "
                                + rank
                                + " is "
                                + text(p)
                                + "; dimensions must be non-negative 64-bit integers");
            }
            if (rank == dims.length) {
                dims = Arrays.copyOf(dims, rank * 2);
            }
            dims[rank++] = d;
        }
        return Arrays.copyOf(dims, rank);
    }

    private static long[] readOffsets(JsonParser p, String name)
            throws IOException, SafetensorsException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw error(
                    Reason.INVALID_TENSOR_ENTRY,
                    name,
                    "data_offsets must be an array, found " + describe(p.currentToken()));
        }
        long[] offsets = new long[2];
        int count = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            long v = readNonNegative(p);
            if (v < 0) {
                throw error(
                        Reason.INVALID_OFFSETS,
                        name,
                        "data_offsets element "
                                + count
                                + " is "
                                + text(p)
                                + "; offsets must be non-negative 64-bit integers");
            }
            if (count < 2) {
                offsets[count] = v;
            }
            count++;
        }
        if (count != 2) {
            throw error(
                    Reason.INVALID_OFFSETS,
                    name,
                    "data_offsets has " + count + " elements; it must be exactly [begin, end]");
        }
        return offsets;
    }

    /** The current integer token's value, or -1 when it is not an integer in [0, 2^63). */
    private static long readNonNegative(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
            return -1;
        }
        JsonParser.NumberType type = p.getNumberType();
        if (type != JsonParser.NumberType.INT && type != JsonParser.NumberType.LONG) {
            return -1;
        }
        return p.getLongValue();
    }

    private static String text(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
            String s = p.getText();
            return s.length() > 40 ? s.substring(0, 40) + "..." : s;
        }
        return describe(t);
    }

    private static String shapeText(long[] shape) {
        if (shape.length <= SHAPE_SHOWN) {
            return Arrays.toString(shape);
        }
        String head = Arrays.toString(Arrays.copyOf(shape, SHAPE_SHOWN));
        return head.substring(0, head.length() - 1) + ", ... (rank " + shape.length + ")]";
    }

    private static SafetensorsException error(Reason reason, String tensor, String detail) {
        return new SafetensorsException(reason, null, tensor, detail);
    }
}
