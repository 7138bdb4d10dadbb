package io.warmstage.format;

import io.warmstage.testing.SharedData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Mutations of the real files, and an independent check of the safetensors rules, shared by the
 * jqwik property ({@link HeaderParserProperties}) and the long fuzz run ({@link FormatFuzzMain}).
 */
final class Mutations {
    /** What to do to a real file. */
    enum Kind {
        BIT_FLIP,
        TRUNCATE,
        SET_LENGTH,
        NUDGE_LENGTH,
        INSERT_BYTE,
        DELETE_BYTE,
        OVERWRITE_BYTE
    }

    /** The bytes of every valid real file, loaded once. */
    static final List<byte[]> REAL_FILES = load();

    private Mutations() {}

    /**
     * Applies one mutation. Positions are taken modulo the header region (length field, header and
     * a few data bytes) except for truncation, which may cut anywhere.
     */
    static byte[] mutate(byte[] file, Kind kind, int posSeed, int value, long longValue) {
        if (file.length < 8) {
            return kind == Kind.DELETE_BYTE ? new byte[0] : insert(file, 0, (byte) value);
        }
        int region = (int) Math.min(file.length, headerEnd(file) + 32);
        int pos = Math.floorMod(posSeed, Math.max(1, region));
        return switch (kind) {
            case BIT_FLIP -> withByte(file, pos, file[pos] ^ (1 << (value & 7)));
            case OVERWRITE_BYTE -> withByte(file, pos, value);
            case TRUNCATE -> Arrays.copyOf(file, Math.floorMod(posSeed, file.length));
            case SET_LENGTH -> withLength(file, longValue);
            case NUDGE_LENGTH -> withLength(file, headerEnd(file) - 8 + (value - 128));
            case INSERT_BYTE -> insert(file, pos, (byte) value);
            case DELETE_BYTE -> delete(file, pos);
        };
    }

    /**
     * Checks every rule on a header that parsed, independently of the parser.
     *
     * @return null if all hold, else which rule does not
     */
    static String brokenRule(SafetensorsHeader h, long fileLength) {
        if (h.headerLength() < 0 || h.headerLength() > SafetensorsHeader.MAX_HEADER_LENGTH) {
            return "header length " + h.headerLength();
        }
        if (8 + h.headerLength() + h.dataSize() != fileLength) {
            return "8 + N + dataSize != file length " + fileLength;
        }
        long expectedBegin = 0;
        TensorInfo previous = null;
        for (TensorInfo t : h.tensors()) {
            if (t.begin() != expectedBegin) {
                return "tiling broken at " + t;
            }
            if (previous != null && TensorLayout.OFFSET_ORDER.compare(previous, t) > 0) {
                return "not sorted at " + t;
            }
            long bits = t.elementCount() * t.dtype().bits();
            if (bits % 8 != 0 || bits / 8 != t.byteSize()) {
                return "size does not match shape and dtype: " + t;
            }
            expectedBegin = t.end();
            previous = t;
        }
        return expectedBegin == h.dataSize() ? null : "dataSize != last end";
    }

    private static long headerEnd(byte[] file) {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return n < 0 || n > file.length - 8 ? file.length : 8 + n;
    }

    private static byte[] withByte(byte[] file, int pos, int value) {
        byte[] copy = file.clone();
        copy[pos] = (byte) value;
        return copy;
    }

    private static byte[] withLength(byte[] file, long n) {
        byte[] copy = file.clone();
        ByteBuffer.wrap(copy, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(n);
        return copy;
    }

    private static byte[] insert(byte[] file, int pos, byte b) {
        byte[] out = new byte[file.length + 1];
        System.arraycopy(file, 0, out, 0, pos);
        out[pos] = b;
        System.arraycopy(file, pos, out, pos + 1, file.length - pos);
        return out;
    }

    private static byte[] delete(byte[] file, int pos) {
        byte[] out = new byte[file.length - 1];
        System.arraycopy(file, 0, out, 0, pos);
        System.arraycopy(file, pos + 1, out, pos, file.length - pos - 1);
        return out;
    }

    private static List<byte[]> load() {
        try {
            List<byte[]> files = new java.util.ArrayList<>();
            for (Path p : SharedData.validFiles()) {
                files.add(Files.readAllBytes(p));
            }
            return List.copyOf(files);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
