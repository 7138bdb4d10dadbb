package io.warmstage.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A large, valid safetensors JSON header for parser benchmarks: a DeepSeek-V3-like mixture of
 * experts layout (attention, norms, router, and per expert FP8 gate/up/down weights with their F32
 * block scales), 1,545 tensors per layer. Data offsets tile the data section in the order the
 * reference writer uses (wider dtypes first, then name); the JSON lists tensors by name, compact,
 * padded with spaces to a multiple of 8, as torch-written files are.
 */
final class SyntheticHeader {
    private static final int HIDDEN = 7168;
    private static final int EXPERT_DIM = 2048;
    private static final int EXPERTS = 256;

    /** The JSON header bytes and the size of the file it describes. */
    record Header(byte[] json, long fileSize, int tensors) {}

    private record Entry(String name, String dtype, int bytesPerElement, long[] shape) {
        long bytes() {
            long n = bytesPerElement;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private SyntheticHeader() {}

    /** The header of a model with {@code layers} layers. */
    static Header build(int layers) {
        List<Entry> entries = new ArrayList<>();
        entries.add(bf16("model.embed_tokens.weight", 129280, HIDDEN));
        entries.add(bf16("lm_head.weight", 129280, HIDDEN));
        entries.add(new Entry("model.norm.weight", "BF16", 2, new long[] {HIDDEN}));
        for (int l = 0; l < layers; l++) {
            layer(entries, "model.layers." + l + ".");
        }
        List<Entry> byData = new ArrayList<>(entries);
        byData.sort(
                Comparator.comparingInt((Entry e) -> -e.bytesPerElement())
                        .thenComparing(Entry::name));
        java.util.Map<String, long[]> offsets = new java.util.HashMap<>();
        long pos = 0;
        for (Entry e : byData) {
            long end = Math.addExact(pos, e.bytes());
            offsets.put(e.name(), new long[] {pos, end});
            pos = end;
        }
        entries.sort(Comparator.comparing(Entry::name));
        StringBuilder json = new StringBuilder(entries.size() * 140);
        json.append("{\"__metadata__\":{\"format\":\"pt\"}");
        for (Entry e : entries) {
            long[] o = offsets.get(e.name());
            json.append(",\"").append(e.name()).append("\":{\"dtype\":\"").append(e.dtype());
            json.append("\",\"shape\":[");
            for (int i = 0; i < e.shape().length; i++) {
                json.append(i == 0 ? "" : ",").append(e.shape()[i]);
            }
            json.append("],\"data_offsets\":[").append(o[0]).append(',').append(o[1]).append("]}");
        }
        json.append('}');
        while (json.length() % 8 != 0) {
            json.append(' ');
        }
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        return new Header(bytes, 8 + bytes.length + pos, entries.size());
    }

    private static void layer(List<Entry> out, String p) {
        out.add(bf16(p + "input_layernorm.weight", HIDDEN));
        out.add(bf16(p + "post_attention_layernorm.weight", HIDDEN));
        out.add(bf16(p + "self_attn.q_a_proj.weight", 1536, HIDDEN));
        out.add(bf16(p + "self_attn.q_b_proj.weight", 24576, 1536));
        out.add(bf16(p + "self_attn.kv_a_proj_with_mqa.weight", 576, HIDDEN));
        out.add(bf16(p + "self_attn.kv_b_proj.weight", 32768, 512));
        out.add(bf16(p + "self_attn.o_proj.weight", HIDDEN, 16384));
        out.add(bf16(p + "mlp.gate.weight", EXPERTS, HIDDEN));
        out.add(new Entry(p + "mlp.gate.e_score_correction_bias", "F32", 4, new long[] {EXPERTS}));
        for (int e = 0; e < EXPERTS; e++) {
            String x = p + "mlp.experts." + e + ".";
            expert(out, x + "gate_proj.", EXPERT_DIM, HIDDEN);
            expert(out, x + "up_proj.", EXPERT_DIM, HIDDEN);
            expert(out, x + "down_proj.", HIDDEN, EXPERT_DIM);
        }
    }

    private static void expert(List<Entry> out, String p, long rows, long cols) {
        out.add(new Entry(p + "weight", "F8_E4M3", 1, new long[] {rows, cols}));
        out.add(
                new Entry(
                        p + "weight_scale_inv",
                        "F32",
                        4,
                        new long[] {(rows + 127) / 128, (cols + 127) / 128}));
    }

    private static Entry bf16(String name, long... shape) {
        return new Entry(name, "BF16", 2, shape);
    }
}
