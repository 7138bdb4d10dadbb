package io.warmstage.format;

import java.util.List;
import java.util.Map;

/**
 * A parsed and validated safetensors header.
 *
 * <p>File layout: bytes [0, 8) hold N as a little-endian u64; bytes [8, 8 + N) hold the JSON
 * header; the data section starts at byte {@link #dataStart()} = 8 + N and is {@link #dataSize()}
 * bytes long, so the file is {@link #fileSize()} bytes.
 *
 * @param headerLength N, the length of the JSON header in bytes
 * @param tensors every tensor, sorted by {@code begin} (then by name for zero-size tensors)
 * @param metadata the {@code __metadata__} map; empty when absent or null
 * @param dataSize size of the data section in bytes: the last tensor's end, 0 without tensors
 */
public record SafetensorsHeader(
        long headerLength, List<TensorInfo> tensors, Map<String, String> metadata, long dataSize) {

    /** Largest header length the reference implementation accepts, in bytes. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;

    public SafetensorsHeader {
        tensors = List.copyOf(tensors);
        metadata = Map.copyOf(metadata);
    }

    /** Absolute offset of the data section: 8 + N. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Size of the whole file in bytes: 8 + N + dataSize. */
    public long fileSize() {
        return Math.addExact(dataStart(), dataSize);
    }

    /** Returns the tensor with this name, or null. */
    public TensorInfo tensor(String name) {
        for (TensorInfo t : tensors) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
