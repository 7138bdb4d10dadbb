package io.warmstage.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.format.SafetensorsException.Reason;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Real files written by other tools (shared/data/real, see its README and check-results.txt). */
class HeaderParserRealFilesTest {

    static Stream<Path> validFiles() {
        return SharedData.validFiles().stream();
    }

    @ParameterizedTest
    @MethodSource("validFiles")
    void everyValidRealFileParsesAndAccountsForEveryByte(Path file) throws Exception {
        SafetensorsHeader h = HeaderParser.read(file);

        assertThat(h.fileSize()).isEqualTo(Files.size(file));
        assertThat(8 + h.headerLength() + h.dataSize()).isEqualTo(Files.size(file));
        assertThat(h.tensors()).isSortedAccordingTo(TensorLayout.OFFSET_ORDER);
    }

    @Test
    void seventeenValidFilesIncludingShards() {
        assertThat(SharedData.validFiles()).hasSize(17);
    }

    @Test
    void oldNumpyWriterSampleIsUnpaddedWithMetadata() throws Exception {
        SafetensorsHeader h = read("huggingface_safetensors__samples__overall.safetensors");

        assertThat(h.headerLength()).isEqualTo(526);
        assertThat(h.dataStart()).isEqualTo(534);
        assertThat(h.fileSize()).isEqualTo(702);
        assertThat(h.metadata()).isEqualTo(Map.of("test", "a"));
        assertThat(names(h)).containsExactly("B", "H", "I", "b", "d", "e", "f", "h", "i");
        assertThat(h.tensor("H").dtype()).isEqualTo(Dtype.U16);
        assertThat(h.tensor("I").begin()).isEqualTo(18);
        assertThat(h.tensor("I").end()).isEqualTo(42);
    }

    @Test
    void fluxAllDtypesFile() throws Exception {
        SafetensorsHeader h = read("FluxML_SafeTensors.jl__test__non_sharded__model.safetensors");

        assertThat(h.headerLength()).isEqualTo(2528);
        assertThat(h.tensors()).hasSize(36);
        assertThat(h.metadata()).isEmpty();
        assertThat(h.tensors().stream().map(TensorInfo::dtype).distinct())
                .containsExactlyInAnyOrder(
                        Dtype.BF16,
                        Dtype.BOOL,
                        Dtype.F16,
                        Dtype.F32,
                        Dtype.F64,
                        Dtype.F8_E4M3,
                        Dtype.F8_E5M2,
                        Dtype.I8,
                        Dtype.I16,
                        Dtype.I32,
                        Dtype.I64,
                        Dtype.U8);
        assertThat(h.tensors().get(0))
                .isEqualTo(new TensorInfo("int64_3", Dtype.I64, new long[] {3}, 0, 24));
    }

    @Test
    void burnRankZeroTensor() throws Exception {
        SafetensorsHeader h =
                read(
                        "tracel-ai_burn__crates__burn-import__safetensors-tests__tests__batch_norm__"
                                + "batch_norm2d.safetensors");

        assertThat(h.headerLength()).isEqualTo(352);
        assertThat(h.tensors()).hasSize(5);
        TensorInfo scalar = h.tensor("norm1.num_batches_tracked");
        assertThat(scalar.shape()).isEmpty();
        assertThat(scalar.dtype()).isEqualTo(Dtype.I64);
        assertThat(scalar.elementCount()).isEqualTo(1);
        assertThat(scalar.byteSize()).isEqualTo(8);
    }

    @Test
    void mlxNullMetadataIsEmptyAndTensorsAreSortedByOffset() throws Exception {
        SafetensorsHeader h = read("wyek1n_MLX-CLI__adapters__adapters.safetensors");

        assertThat(h.metadata()).isEmpty();
        assertThat(h.headerLength()).isEqualTo(1684);
        assertThat(h.dataStart() % 8).isEqualTo(4);
        assertThat(h.tensors()).hasSize(16);
        assertThat(h.tensors().get(0).name()).isEqualTo("model.layers.23.self_attn.v_proj.lora_b");
        assertThat(h.tensors().get(1).begin()).isEqualTo(4096);
    }

    @Test
    void runAiFileIsReturnedInOffsetOrderNotJsonOrder() throws Exception {
        SafetensorsHeader h =
                read(
                        "run-ai_runai-model-streamer__py__runai_model_streamer__runai_model_streamer__"
                                + "safetensors_streamer__tests__test_files__test.safetensors");

        assertThat(h.headerLength()).isEqualTo(744);
        assertThat(h.metadata()).isEqualTo(Map.of("format", "pt"));
        assertThat(names(h))
                .containsExactly(
                        "tensor1.int64",
                        "tensor1.float64",
                        "tensor1.float32",
                        "tensor1.int32",
                        "tensor1.bfloat16",
                        "tensor1.float16",
                        "tensor1.int16",
                        "tensor1.int8",
                        "tensor1.uint8",
                        "tensor1.bool");
        assertThat(h.dataSize()).isEqualTo(198);
    }

    @Test
    void runAiEmptyFileHasNoTensors() throws Exception {
        SafetensorsHeader h =
                read(
                        "run-ai_runai-model-streamer__py__runai_model_streamer__runai_model_streamer__"
                                + "safetensors_streamer__tests__test_files__test_empty.safetensors");

        assertThat(h.headerLength()).isEqualTo(8);
        assertThat(h.tensors()).isEmpty();
        assertThat(h.dataSize()).isZero();
        assertThat(h.fileSize()).isEqualTo(16);
    }

    @Test
    void otherWriters() throws Exception {
        SafetensorsHeader cnn = read("Elyasb14_models__models__cnn.safetensors");
        assertThat(cnn.headerLength()).isEqualTo(1624);
        assertThat(cnn.tensors()).hasSize(20);
        assertThat(cnn.tensors().get(0).shape()).containsExactly(32, 1, 5, 5);

        SafetensorsHeader peft =
                read("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
        assertThat(peft.headerLength()).isEqualTo(3120);
        assertThat(peft.tensors()).hasSize(25);
        assertThat(peft.metadata()).isEqualTo(Map.of("format", "pt"));

        SafetensorsHeader candle =
                read("huggingface_candle__candle-examples__examples__csm__voices.safetensors");
        assertThat(candle.headerLength()).isEqualTo(144);
        assertThat(candle.tensor("tokens").shape()).containsExactly(1, 982, 33);
        assertThat(candle.tensor("mask").dtype()).isEqualTo(Dtype.U8);

        SafetensorsHeader embeds =
                read("ttekcor_Embedding_stable_diffusion__learned_embeds.safetensors");
        assertThat(names(embeds)).containsExactly("<detail-schemas>");
        assertThat(embeds.fileSize()).isEqualTo(3192);
    }

    @Test
    void hadamardsHasSixtySixTensorsAndSixtySixMetadataKeys() throws Exception {
        SafetensorsHeader h =
                read(
                        "neuralmagic_compressed-tensors__src__compressed_tensors__transform__utils__"
                                + "hadamards.safetensors");

        assertThat(h.headerLength()).isEqualTo(5848);
        assertThat(h.tensors()).hasSize(66);
        assertThat(h.metadata()).hasSize(66).containsEntry("224", "had.224.pal");
        assertThat(h.tensors().get(0).name()).isEqualTo("1");
        assertThat(h.fileSize()).isEqualTo(1_436_901);
    }

    @Test
    void lfsPointerIsNotSafetensors() {
        Path lfs =
                SharedData.malformed()
                        .resolve(
                                "YouZiSoftware_lzlv_70b_fp16_hf__model-00001-of-00015.safetensors");

        assertThatThrownBy(() -> HeaderParser.read(lfs))
                .isInstanceOfSatisfying(
                        SafetensorsException.class,
                        e -> {
                            assertThat(e.reason()).isEqualTo(Reason.NOT_SAFETENSORS);
                            assertThat(e.file()).isEqualTo(lfs.toString());
                        })
                .hasMessageContaining("not a safetensors file: looks like a Git LFS pointer");
    }

    @Test
    void abuseAttemptHasHeaderLengthPastTheEnd() {
        Path abuse =
                SharedData.malformed()
                        .resolve(
                                "syoyo_safetensors-cpp__test__safetensors_abuse_attempt_1.safetensors");

        assertThatThrownBy(() -> HeaderParser.read(abuse))
                .isInstanceOfSatisfying(
                        SafetensorsException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.INVALID_HEADER_LENGTH))
                .hasMessageContaining("file is 88 bytes, header says 8 + 1000 = 1008");
    }

    private static SafetensorsHeader read(String name) throws Exception {
        return HeaderParser.read(SharedData.real().resolve(name));
    }

    private static List<String> names(SafetensorsHeader h) {
        return h.tensors().stream().map(TensorInfo::name).toList();
    }
}
