package io.warmstage.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.flink.core.memory.DataOutputView;

/** Writes buffer bytes into Flink's data views (whose API takes arrays) for the serializers. */
public final class BufferBytes {
    private static final ThreadLocal<byte[]> SCRATCH =
            ThreadLocal.withInitial(() -> new byte[64 << 10]);

    private BufferBytes() {}

    /**
     * Writes a length (-1 for null) and {@code bytes}' remaining bytes: straight from a heap
     * buffer's array, through this thread's 64 KiB scratch array for a direct one. The position of
     * {@code bytes} advances.
     */
    public static void write(ByteBuffer bytes, DataOutputView out) throws IOException {
        if (bytes == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(bytes.remaining());
        if (bytes.hasArray()) {
            out.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
            return;
        }
        byte[] scratch = SCRATCH.get();
        while (bytes.hasRemaining()) {
            int n = Math.min(scratch.length, bytes.remaining());
            bytes.get(scratch, 0, n);
            out.write(scratch, 0, n);
        }
    }
}
