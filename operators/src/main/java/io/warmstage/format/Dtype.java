package io.warmstage.format;

import java.util.Locale;

/**
 * The safetensors dtypes and their widths in bits, exactly the names the reference implementation
 * accepts (huggingface/safetensors {@code Dtype}); names are case-sensitive.
 */
public enum Dtype {
    F4(4),
    F6_E2M3(6),
    F6_E3M2(6),
    BOOL(8),
    U8(8),
    I8(8),
    F8_E5M2(8),
    F8_E4M3(8),
    F8_E8M0(8),
    F8_E4M3FNUZ(8),
    F8_E5M2FNUZ(8),
    I16(16),
    U16(16),
    F16(16),
    BF16(16),
    I32(32),
    U32(32),
    F32(32),
    I64(64),
    U64(64),
    F64(64),
    C64(64);

    private final int bits;

    Dtype(int bits) {
        this.bits = bits;
    }

    /** Width of one element in bits (4, 6, 8, 16, 32 or 64). */
    public int bits() {
        return bits;
    }

    /**
     * Looks up a dtype by its exact safetensors name.
     *
     * @return the dtype, or null if {@code name} is not a known dtype name (names are
     *     case-sensitive: {@code f32} is unknown)
     */
    public static Dtype fromName(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return name().toUpperCase(Locale.ROOT);
    }
}
