package io.warmstage.job.gpucheck;

import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.ModelWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The GPU check's model: one safetensors file of BF16 tensors with Llama names and shapes
 * (grouped-query attention, SwiGLU MLP, untied lm_head), as many layers as reach the asked size.
 * Values are random BF16 numbers of magnitude 2^-7 to 2^-3 (finite, weight-like), seeded by tensor
 * name and offset, so every byte depends on its position and a chunk copied to the wrong offset
 * changes the tensor's checksum. Fast to write: about one second per GiB of random bits plus disk.
 */
final class CheckModel {
    /** 1 GiB: from here on the widths of an 8B model; below, small widths for dry runs. */
    private static final long LARGE = 1L << 30;

    /**
     * Widths of the model.
     *
     * @param vocab vocabulary size
     * @param hidden hidden size
     * @param intermediate MLP size
     * @param kv key/value projection rows (kv heads x head size)
     * @param layers decoder layers
     */
    record Dims(int vocab, int hidden, int intermediate, int kv, int layers) {
        /** Bytes of the data section. */
        long dataBytes() {
            long h = hidden;
            long perLayer = 2 * h * h + 2 * kv * h + 3L * intermediate * h + 2 * h;
            long fixed = 2L * vocab * h + h;
            return 2 * Math.addExact(fixed, Math.multiplyExact(perLayer, (long) layers));
        }
    }

    private CheckModel() {}

    /**
     * Dims whose data section is close to {@code targetBytes}: Llama 3 8B widths at 1 GiB and more,
     * small widths below; at least one layer.
     */
    static Dims forSize(long targetBytes) {
        Dims base =
                targetBytes >= LARGE
                        ? new Dims(32000, 4096, 14336, 1024, 0)
                        : new Dims(1024, 256, 704, 64, 0);
        long fixed = base.dataBytes();
        long perLayer = withLayers(base, 1).dataBytes() - fixed;
        long layers = Math.max(1, Math.round((double) (targetBytes - fixed) / perLayer));
        return withLayers(base, (int) Math.min(layers, 4096));
    }

    /**
     * Writes the model to {@code file}.
     *
     * @return the file's size in bytes
     */
    static long write(Path file, Dims d) throws IOException {
        return ModelWriter.write(
                file, tensors(d), Map.of("format", "pt", "written_by", "warmstage gpu-check"));
    }

    static List<ModelWriter.Tensor> tensors(Dims d) {
        return DemoModel.llamaTensors(
                d.vocab(), d.hidden(), d.intermediate(), d.kv(), d.layers(), CheckModel::block);
    }

    /**
     * 1 MiB of BF16 values for the block at {@code offset} of the tensor seeded {@code seed}: each
     * 16-bit value keeps a random sign and mantissa, with the exponent set to 120..123.
     */
    static byte[] block(long seed, long offset) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + offset);
        byte[] out = new byte[1 << 20];
        LongBuffer longs = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        while (longs.hasRemaining()) {
            long r = rnd.nextLong();
            long signAndMantissa = r & 0x807F_807F_807F_807FL;
            long exponentLowBits = ((r >>> 7) & 0x0003_0003_0003_0003L) << 7;
            longs.put(signAndMantissa | 0x3C00_3C00_3C00_3C00L | exponentLowBits);
        }
        return out;
    }

    private static Dims withLayers(Dims d, int layers) {
        return new Dims(d.vocab(), d.hidden(), d.intermediate(), d.kv(), layers);
    }
}
