package io.warmstage.format;

import io.warmstage.format.SafetensorsException.Reason;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads and validates safetensors headers: the 8-byte length field and the JSON header.
 *
 * <p>Implements the rules of the reference implementation, huggingface/safetensors {@code
 * SafeTensors::read_metadata} and {@code Metadata::validate} (safetensors/src/tensor.rs), as stated
 * in DESIGN.md "Safetensors rules". Every rule broken is reported as a {@link SafetensorsException}
 * with its own {@link Reason}; no other exception escapes for bad bytes.
 */
public final class HeaderParser {

    private HeaderParser() {}

    /**
     * Decodes the header length N, the first 8 bytes of the file as an unsigned little-endian
     * 64-bit integer, and checks it against the file size (reference: {@code read_metadata}).
     *
     * @param first8 the first bytes of the file (at least 8; only the first 8 are read)
     * @param fileSize size of the whole file in bytes
     * @param file the file name or URI, used in error messages
     * @return N, the JSON header length in bytes, with {@code 8 + N <= fileSize}
     * @throws SafetensorsException HEADER_TOO_SMALL (fewer than 8 bytes), NOT_SAFETENSORS (the
     *     bytes are text: Git LFS pointer, HTML/XML page, ...), HEADER_TOO_LARGE (N over
     *     100,000,000 or at least 2^63), INVALID_HEADER_LENGTH (8 + N is past the end of the file)
     */
    public static long readHeaderLength(byte[] first8, long fileSize, String file)
            throws SafetensorsException {
        if (first8.length < 8 || fileSize < 8) {
            throw new SafetensorsException(
                    Reason.HEADER_TOO_SMALL,
                    file,
                    null,
                    "file is "
                            + Math.min(first8.length, fileSize)
                            + " bytes, shorter than the 8-byte header length field");
        }
        TextSniffer.rejectText(first8, file);
        long n = ByteBuffer.wrap(first8, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        checkLimit(n, file);
        checkFits(n, fileSize, file);
        return n;
    }

    /**
     * Parses and validates the JSON header (reference: {@code read_metadata}, {@code
     * Metadata::validate}).
     *
     * @param json the N header bytes, from byte 8 to byte 8 + N of the file
     * @param fileSize size of the whole file in bytes; must equal 8 + N + the last tensor's end
     * @param file the file name or URI, used in error messages
     * @return the header, tensors sorted by begin (zero-size tensors first on ties, then name)
     * @throws SafetensorsException for any broken rule; the reason names the rule
     */
    public static SafetensorsHeader parse(byte[] json, long fileSize, String file)
            throws SafetensorsException {
        try {
            long n = json.length;
            checkLimit(n, null);
            checkUtf8(json);
            HeaderJsonReader.Result parsed = HeaderJsonReader.read(json);
            List<TensorInfo> sorted = TensorLayout.sortAndCheckTiling(parsed.tensors());
            long dataSize = sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1).end();
            checkFileSize(n, dataSize, fileSize);
            return new SafetensorsHeader(n, sorted, parsed.metadata(), dataSize);
        } catch (SafetensorsException e) {
            throw e.inFile(file);
        }
    }

    /**
     * Reads the header of a local file: the 8-byte length, then the N header bytes, and validates
     * both against the file's size.
     *
     * @param file a safetensors file
     * @return the validated header
     * @throws IOException if the file cannot be read
     * @throws SafetensorsException for any broken rule, with {@link SafetensorsException#file()}
     *     set to {@code file}
     */
    public static SafetensorsHeader read(Path file) throws IOException, SafetensorsException {
        String name = file.toString();
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            long size = ch.size();
            byte[] first8 = readFully(ch, (int) Math.min(8, size));
            long n = readHeaderLength(first8, size, name);
            return parse(readFully(ch, (int) n), size, name);
        }
    }

    private static void checkLimit(long n, String file) throws SafetensorsException {
        if (n < 0 || n > SafetensorsHeader.MAX_HEADER_LENGTH) {
            throw new SafetensorsException(
                    Reason.HEADER_TOO_LARGE,
                    file,
                    null,
                    "header length "
                            + Long.toUnsignedString(n)
                            + " is over the limit of "
                            + SafetensorsHeader.MAX_HEADER_LENGTH
                            + " bytes");
        }
    }

    private static void checkFits(long n, long fileSize, String file) throws SafetensorsException {
        if (n > fileSize - 8) {
            throw new SafetensorsException(
                    Reason.INVALID_HEADER_LENGTH,
                    file,
                    null,
                    "file is "
                            + fileSize
                            + " bytes, header says 8 + "
                            + n
                            + " = "
                            + (8 + n)
                            + ": truncated download or not a safetensors file");
        }
    }

    private static void checkFileSize(long n, long dataSize, long fileSize)
            throws SafetensorsException {
        long expected;
        try {
            expected = Math.addExact(8 + n, dataSize);
        } catch (ArithmeticException e) {
            expected = -1;
        }
        if (expected != fileSize) {
            throw new SafetensorsException(
                    Reason.METADATA_INCOMPLETE_BUFFER,
                    null,
                    null,
                    "tensors end at data offset "
                            + dataSize
                            + ", so the file should be 8 + "
                            + n
                            + " + "
                            + dataSize
                            + " = "
                            + (expected < 0 ? "more than 2^63" : Long.toString(expected))
                            + " bytes, but it is "
                            + fileSize
                            + " bytes: the data section must end exactly at the last tensor");
        }
    }

    private static void checkUtf8(byte[] json) throws SafetensorsException {
        CharsetDecoder decoder =
                StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(json);
        CharBuffer out = CharBuffer.allocate(4096);
        CoderResult r;
        do {
            out.clear();
            r = decoder.decode(in, out, true);
        } while (r.isOverflow());
        if (!r.isError()) {
            out.clear();
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw new SafetensorsException(
                    Reason.INVALID_HEADER_UTF8,
                    null,
                    null,
                    "header is not valid UTF-8 at header byte " + in.position());
        }
    }

    private static byte[] readFully(SeekableByteChannel ch, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                throw new EOFException("file ended after " + buf.position() + " bytes");
            }
        }
        return buf.array();
    }
}
