package io.warmstage.job.gpucheck;

import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/** CRC-32C of each tensor's bytes as they sit in the file, computed on the host. */
final class HostChecksums {
    private static final int PIECE = 8 << 20;

    private HostChecksums() {}

    /**
     * Reads every tensor's range {@code [dataStart + begin, dataStart + end)} of {@code file}.
     *
     * @return CRC-32C (as {@link CRC32C}, cast to int) by tensor name, in the header's order
     */
    static Map<String, Integer> of(Path file, SafetensorsHeader header) throws IOException {
        Map<String, Integer> out = new LinkedHashMap<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(PIECE);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (TensorInfo t : header.tensors()) {
                CRC32C crc = new CRC32C();
                long at = header.dataStart() + t.begin();
                long end = header.dataStart() + t.end();
                while (at < end) {
                    buf.clear().limit((int) Math.min(PIECE, end - at));
                    readFully(ch, buf, at);
                    at += buf.flip().remaining();
                    crc.update(buf);
                }
                out.put(t.name(), (int) crc.getValue());
            }
        }
        return out;
    }

    /** Names whose checksum in {@code actual} differs from (or is missing against) {@code host}. */
    static List<String> mismatches(Map<String, Integer> host, Map<String, Integer> actual) {
        List<String> out = new ArrayList<>();
        host.forEach(
                (name, crc) -> {
                    if (!crc.equals(actual.get(name))) {
                        out.add(name);
                    }
                });
        return out;
    }

    /** Fills {@code buf} from {@code ch} at {@code position}; fails at end of file. */
    static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new EOFException("end of file at byte " + at);
            }
            at += n;
        }
    }
}
