package io.warmstage.job.demo;

import io.warmstage.format.Dtype;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A scaled-down Llama-like checkpoint in BF16: the tensor names and shape ratios of Llama 3
 * (grouped-query attention, SwiGLU MLP, untied lm_head), split greedily into shards like the
 * Hugging Face writer, with {@code model.safetensors.index.json}. Weights are normal with standard
 * deviation 0.02, seeded so every run writes the same bytes.
 */
public final class DemoModel {
    /** Sizes of the demo model. */
    public record Dims(
            int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        /** About 118 MiB in 3 shards. */
        public static Dims small() {
            return new Dims(8192, 1024, 2816, 4, 16, 4);
        }
    }

    private DemoModel() {}

    /**
     * Writes the model into {@code dir}.
     *
     * @param maxShardBytes largest shard data size in bytes
     * @return the index.json path
     */
    public static Path write(Path dir, Dims d, long maxShardBytes) throws IOException {
        Files.createDirectories(dir);
        List<List<ModelWriter.Tensor>> shards = shard(tensors(d), maxShardBytes);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name =
                    String.format(
                            Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            for (ModelWriter.Tensor t : shards.get(i)) {
                weightMap.put(t.name(), name);
                total += t.bytes();
            }
            ModelWriter.write(dir.resolve(name), shards.get(i), Map.of("format", "pt"));
        }
        Path index = dir.resolve("model.safetensors.index.json");
        ModelWriter.writeIndex(index, weightMap, total);
        return index;
    }

    static List<ModelWriter.Tensor> tensors(Dims d) {
        int kv = d.kvHeads() * (d.hidden() / d.heads());
        return llamaTensors(
                d.vocab(), d.hidden(), d.intermediate(), kv, d.layers(), DemoModel::block);
    }

    /** Gives the bytes of a tensor in blocks: for the tensor's seed and the block's offset. */
    @FunctionalInterface
    public interface BlockFill {
        byte[] block(long seed, long offset);
    }

    /**
     * The BF16 tensors of a Llama-like decoder, in Hugging Face names and order: embeddings, per
     * layer norms, q/k/v/o projections (grouped-query: k and v have {@code kv} rows) and SwiGLU
     * MLP, final norm, untied lm_head. Each tensor is seeded by its name.
     *
     * @param kv rows of the k and v projections (kv heads x head size)
     */
    public static List<ModelWriter.Tensor> llamaTensors(
            int vocab, int hidden, int intermediate, int kv, int layers, BlockFill fill) {
        List<ModelWriter.Tensor> out = new ArrayList<>();
        out.add(bf16("model.embed_tokens.weight", fill, vocab, hidden));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            out.add(bf16(p + "input_layernorm.weight", fill, hidden));
            out.add(bf16(p + "self_attn.q_proj.weight", fill, hidden, hidden));
            out.add(bf16(p + "self_attn.k_proj.weight", fill, kv, hidden));
            out.add(bf16(p + "self_attn.v_proj.weight", fill, kv, hidden));
            out.add(bf16(p + "self_attn.o_proj.weight", fill, hidden, hidden));
            out.add(bf16(p + "post_attention_layernorm.weight", fill, hidden));
            out.add(bf16(p + "mlp.gate_proj.weight", fill, intermediate, hidden));
            out.add(bf16(p + "mlp.up_proj.weight", fill, intermediate, hidden));
            out.add(bf16(p + "mlp.down_proj.weight", fill, hidden, intermediate));
        }
        out.add(bf16("model.norm.weight", fill, hidden));
        out.add(bf16("lm_head.weight", fill, vocab, hidden));
        return out;
    }

    private static List<List<ModelWriter.Tensor>> shard(List<ModelWriter.Tensor> all, long max) {
        List<List<ModelWriter.Tensor>> shards = new ArrayList<>();
        List<ModelWriter.Tensor> current = new ArrayList<>();
        long size = 0;
        for (ModelWriter.Tensor t : all) {
            if (!current.isEmpty() && size + t.bytes() > max) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.bytes();
        }
        shards.add(current);
        return shards;
    }

    private static ModelWriter.Tensor bf16(String name, BlockFill fill, long... shape) {
        long seed = name.hashCode();
        return new ModelWriter.Tensor(name, Dtype.BF16, shape, off -> fill.block(seed, off));
    }

    /** 1 MiB of BF16 values ~ N(0, 0.02), determined by the tensor's seed and the offset. */
    private static byte[] block(long seed, long offset) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + offset);
        ByteBuffer b = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            float v = (float) (rnd.nextGaussian() * 0.02);
            b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
        }
        return b.array();
    }
}
