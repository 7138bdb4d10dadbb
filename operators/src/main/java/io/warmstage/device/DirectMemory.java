package io.warmstage.device;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * Frees direct buffers at once instead of waiting for the garbage collector, through {@code
 * sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported). Falls back to leaving the buffer to the
 * collector where that is not available.
 */
final class DirectMemory {
    private static final sun.misc.Unsafe UNSAFE = loadUnsafe();

    private DirectMemory() {}

    /** Frees {@code buffer}'s memory; the caller must never touch it (or a view of it) again. */
    static void free(ByteBuffer buffer) {
        if (UNSAFE != null && buffer.isDirect()) {
            UNSAFE.invokeCleaner(buffer);
        }
    }

    private static sun.misc.Unsafe loadUnsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
