package io.warmstage.staging;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Checks a staged file against the SHA-256 a manifest pins it to: the header bytes, then the data
 * section read back from the device in 4 MiB pieces (one pass, only for pinned files).
 */
final class Sha256Check {
    private static final int PIECE = 4 << 20;

    private Sha256Check() {}

    /**
     * @param header the file's first bytes (length prefix and header JSON)
     * @param data the data section in device memory, synchronized
     * @param expected 64 lower-case hex digits
     * @return null if the file hashes to {@code expected}, else the reason it fails
     */
    static String mismatch(String file, byte[] header, DeviceBuffer data, String expected)
            throws DeviceException {
        MessageDigest sha = digest();
        sha.update(header);
        ByteBuffer piece =
                ByteBuffer.allocateDirect((int) Math.min(PIECE, Math.max(1, data.size())));
        for (long off = 0; off < data.size(); ) {
            int n = (int) Math.min(piece.capacity(), data.size() - off);
            piece.clear().limit(n);
            data.copyToHost(off, piece);
            piece.flip();
            sha.update(piece);
            off += n;
        }
        String got = HexFormat.of().formatHex(sha.digest());
        return got.equals(expected)
                ? null
                : file
                        + ": SHA-256 "
                        + got
                        + " of the staged bytes differs from the sha256 the manifest pins, "
                        + expected
                        + "; not staged";
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
