package io.warmstage.job.gpucheck;

import io.warmstage.api.Tensor;
import io.warmstage.api.Warmstage;
import io.warmstage.device.CudaDevice;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.PlainPinnedCopy;
import io.warmstage.format.SafetensorsException;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The three ways the GPU check moves a file's data section to the device, each timed. */
final class CopyPaths {
    private static final int FILL_PIECE = 64 << 20;

    /**
     * One path's outcome.
     *
     * @param bytes bytes moved to the device
     * @param nanos time the path took, in nanoseconds (what is timed is stated per path)
     * @param mismatches tensors whose device checksum differs from the host's; empty when all
     *     equal, null when the path compares none (the baseline)
     */
    record Result(long bytes, long nanos, List<String> mismatches) {
        /** Throughput in GB/s (10^9 bytes per second). */
        double gbPerSecond() {
            return nanos == 0 ? 0 : bytes / (double) nanos;
        }
    }

    private CopyPaths() {}

    /**
     * {@code Warmstage.loadFile(uri, device)}, timed end to end (stat, header, ranged reads of the
     * page-cached file, H2D copies, synchronize); then each tensor's CRC-32C read back from the
     * device and compared with {@code host}. Frees the device memory before returning.
     */
    static Result loadFile(Path file, Device device, Map<String, Integer> host)
            throws IOException, SafetensorsException, DeviceException {
        long start = System.nanoTime();
        Map<String, Tensor> tensors = Warmstage.loadFile(file.toUri().toString(), device);
        long nanos = System.nanoTime() - start;
        try {
            Map<String, Integer> onDevice = new LinkedHashMap<>();
            long bytes = 0;
            for (Tensor t : tensors.values()) {
                onDevice.put(t.name(), t.crc32c());
                bytes += t.byteSize();
            }
            return new Result(bytes, nanos, HostChecksums.mismatches(host, onDevice));
        } finally {
            Warmstage.release(tensors);
        }
    }

    /**
     * The staging operator's device code path: allocate the data section, then copy the file in
     * records of {@code recordBytes} (heap arrays, header bytes skipped, as {@code StagingFile}
     * does) with {@code copyFromHost}, then {@code synchronize}. Timed: the time spent inside
     * {@code copyFromHost} and {@code synchronize} only, not the file reads between them. Then each
     * tensor's CRC-32C is read back and compared with {@code host}; the buffer is freed.
     */
    static Result records(
            Path file,
            SafetensorsHeader h,
            Device device,
            int recordBytes,
            Map<String, Integer> host)
            throws IOException, DeviceException {
        long nanos = 0;
        try (DeviceBuffer data = device.allocate(h.dataSize());
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            byte[] record = new byte[recordBytes];
            long dataStart = h.dataStart();
            for (long off = 0; off < h.fileSize(); off += recordBytes) {
                int len = (int) Math.min(recordBytes, h.fileSize() - off);
                HostChecksums.readFully(ch, ByteBuffer.wrap(record, 0, len), off);
                if (off + len > dataStart) {
                    int skip = (int) Math.max(0, dataStart - off);
                    long start = System.nanoTime();
                    data.copyFromHost(
                            Math.max(off, dataStart) - dataStart,
                            ByteBuffer.wrap(record, skip, len - skip));
                    nanos += System.nanoTime() - start;
                }
            }
            long start = System.nanoTime();
            data.synchronize();
            nanos += System.nanoTime() - start;
            Map<String, Integer> onDevice = new LinkedHashMap<>();
            for (TensorInfo t : h.tensors()) {
                onDevice.put(t.name(), data.crc32c(t.begin(), t.byteSize()));
            }
            return new Result(h.dataSize(), nanos, HostChecksums.mismatches(host, onDevice));
        }
    }

    /**
     * The baseline: the same data section read into one pinned host buffer (not timed), then one
     * plain {@code cuMemcpyHtoD} of all of it (timed). Compares no checksums.
     */
    static Result plainCopy(Path file, SafetensorsHeader h, CudaDevice device)
            throws IOException, DeviceException {
        try (PlainPinnedCopy copy = new PlainPinnedCopy(device, h.dataSize());
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer piece = ByteBuffer.allocateDirect(FILL_PIECE);
            for (long off = 0; off < h.dataSize(); off += FILL_PIECE) {
                piece.clear().limit((int) Math.min(FILL_PIECE, h.dataSize() - off));
                HostChecksums.readFully(ch, piece, h.dataStart() + off);
                copy.fill(off, piece.flip());
            }
            return new Result(h.dataSize(), copy.copyNanos(), null);
        }
    }
}
