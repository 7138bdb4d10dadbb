package io.warmstage.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * One tensor of a staged file, as its registry entry lists it.
 *
 * @param name the tensor's name
 * @param dtype its safetensors dtype ({@code F32}, {@code BF16}, ...)
 * @param shape its dimensions, outermost first; empty for a scalar
 * @param dataOffsets {@code [begin, end)} in bytes, relative to the data section (as in the
 *     safetensors header): in the staging file at {@code data_start + begin}, on a GPU at the IPC
 *     allocation's base {@code + begin}
 * @param crc32c CRC-32C (Castagnoli) of the tensor's bytes as staged, 8 lower-case hex digits
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record StagedTensor(
        String name, String dtype, List<Long> shape, List<Long> dataOffsets, String crc32c) {

    /** The tensor's first byte, relative to the data section. */
    public long begin() {
        return dataOffsets.get(0);
    }

    /** The tensor's size in bytes. */
    public long byteSize() {
        return Math.subtractExact(dataOffsets.get(1), dataOffsets.get(0));
    }

    /** The recorded CRC-32C as an int. */
    public int crc32cValue() {
        return Integer.parseUnsignedInt(crc32c, 16);
    }
}
