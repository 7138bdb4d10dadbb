package io.warmstage.registry;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostMapped;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The data section of a staging file another process published, opened read-only: offsets address
 * the data section, which starts {@code dataStart} bytes into the file. The open file keeps its
 * pages valid even after the staging process withdraws and deletes it; {@link #close()} closes it
 * and never deletes. Writes are refused.
 */
public final class StagedFileBuffer implements DeviceBuffer, HostMapped {
    private final Path path;
    private final long dataStart;
    private final long size;
    private volatile FileChannel channel;

    private StagedFileBuffer(Path path, FileChannel channel, long dataStart, long size) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.size = size;
    }

    /**
     * Opens the staging file {@code path} whose data section starts at {@code dataStart}.
     *
     * @throws IOException if it cannot be opened (withdrawn meanwhile) or is shorter than {@code
     *     dataStart}
     */
    public static StagedFileBuffer open(Path path, long dataStart) throws IOException {
        FileChannel ch = FileChannel.open(path);
        long fileSize = ch.size();
        if (fileSize < dataStart) {
            ch.close();
            throw new IOException(
                    path + ": " + fileSize + " bytes, shorter than its header of " + dataStart);
        }
        return new StagedFileBuffer(path, ch, dataStart, fileSize - dataStart);
    }

    /** The staging file. */
    public Path path() {
        return path;
    }

    @Override
    public long size() {
        return size;
    }

    /** Refused: a staged file is read-only. */
    @Override
    public void copyFromHost(long offset, ByteBuffer src) throws DeviceException {
        throw new DeviceException(path + " is a staged file: read-only");
    }

    @Override
    public void synchronize() {}

    @Override
    public void copyToHost(long offset, ByteBuffer dst) throws DeviceException {
        check(offset, dst.remaining());
        try {
            for (long pos = dataStart + offset; dst.hasRemaining(); ) {
                int n = open().read(dst, pos);
                if (n < 0) {
                    throw new DeviceException(path + ": ends early at byte " + pos);
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new DeviceException("cannot read " + path + ": " + e, e);
        }
    }

    /** CRC-32C of {@code [offset, offset + length)}, read through mappings of up to 64 MiB. */
    @Override
    public int crc32c(long offset, long length) throws DeviceException {
        check(offset, length);
        CRC32C crc = new CRC32C();
        for (long pos = offset; pos < offset + length; ) {
            long n = Math.min(64L << 20, offset + length - pos);
            crc.update(map(pos, n));
            pos += n;
        }
        return (int) crc.getValue();
    }

    @Override
    public MappedByteBuffer map(long offset, long length) throws DeviceException {
        check(offset, length);
        if (length > Integer.MAX_VALUE) {
            throw new IllegalStateException(length + " bytes cannot be mapped as one buffer");
        }
        try {
            return open().map(FileChannel.MapMode.READ_ONLY, dataStart + offset, length);
        } catch (IOException e) {
            throw new DeviceException("cannot map " + path + ": " + e, e);
        }
    }

    /** Closes the file (never deletes it). Idempotent. */
    @Override
    public void close() {
        FileChannel ch = channel;
        channel = null;
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // read-only: nothing to lose
            }
        }
    }

    private FileChannel open() {
        FileChannel ch = channel;
        if (ch == null) {
            throw new IllegalStateException(path + " is closed");
        }
        return ch;
    }

    private void check(long offset, long length) {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IndexOutOfBoundsException(
                    "range ["
                            + offset
                            + ", +"
                            + length
                            + ") outside "
                            + size
                            + " bytes of "
                            + path);
        }
    }
}
