package io.warmstage.device;

import java.nio.ByteBuffer;

/**
 * One allocation of device memory, addressed by byte offset. Not thread-safe: one staging subtask
 * owns it.
 */
public interface DeviceBuffer extends AutoCloseable {

    /** Size in bytes. */
    long size();

    /**
     * Copies {@code src.remaining()} bytes host-to-device to {@code [offset, offset +
     * src.remaining())}. The copy may finish asynchronously, but {@code src} may be reused as soon
     * as this returns. Advances {@code src}'s position to its limit.
     *
     * @throws IndexOutOfBoundsException if the range lies outside the buffer
     * @throws DeviceException if the device reports an error
     */
    void copyFromHost(long offset, ByteBuffer src) throws DeviceException;

    /**
     * As {@link #copyFromHost(long, ByteBuffer)}, for bytes that lie in {@code owner}'s pooled
     * memory: a device that can page-lock the pool's buffers copies straight from it (no staging
     * copy on the host), taking a reference to {@code owner} until the copy has landed. The default
     * copies as {@link #copyFromHost(long, ByteBuffer)} does.
     *
     * @param owner the pooled buffer {@code src} is a view of, or null
     */
    default void copyFromHost(long offset, ByteBuffer src, io.warmstage.memory.ChunkBuffer owner)
            throws DeviceException {
        copyFromHost(offset, src);
    }

    /**
     * A ticket for the copies issued so far, for {@link #landed(long)}: it grows with each copy.
     * The default (devices that cannot tell without waiting) is 0.
     */
    default long copiesIssued() {
        return 0;
    }

    /**
     * Whether every copy issued up to {@code ticket} (a value of {@link #copiesIssued()}) has
     * landed, without waiting where the device can tell; the default waits ({@link #synchronize()})
     * and returns true.
     *
     * @throws DeviceException if a copy failed
     */
    default boolean landed(long ticket) throws DeviceException {
        synchronize();
        return true;
    }

    /** Waits until every copy issued so far has landed in device memory. */
    void synchronize() throws DeviceException;

    /**
     * Copies {@code dst.remaining()} bytes device-to-host from {@code offset}, after the copies
     * issued before it. Advances {@code dst}'s position to its limit.
     */
    void copyToHost(long offset, ByteBuffer dst) throws DeviceException;

    /**
     * CRC-32C (Castagnoli, as {@link java.util.zip.CRC32C}) of bytes {@code [offset, offset +
     * length)} as they sit in device memory, after the copies issued before it.
     */
    int crc32c(long offset, long length) throws DeviceException;

    /**
     * Marks the buffer complete once every byte is staged, handing over the file's header bytes
     * (for a buffer from {@link Device#allocateFile}; the cpu device writes them and gives the
     * staging file its final name). Devices without files ignore it.
     *
     * @throws DeviceException if the buffer cannot be published
     */
    default void publish(ByteBuffer header) throws DeviceException {}

    /**
     * A handle through which another process of the host can open this allocation: for a GPU, the
     * {@code CUipcMemHandle} of its base ({@code cuIpcGetMemHandle}, 64 bytes), valid while this
     * buffer is open. Empty where the device has none (the cpu device's buffers are files: their
     * path is the handle) or cannot give one.
     */
    default java.util.Optional<byte[]> ipcHandle() throws DeviceException {
        return java.util.Optional.empty();
    }

    /** Frees the memory. Idempotent. */
    @Override
    void close();
}
