package io.warmstage.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Property tests: written headers read back equal; mutated real files never break the parser. */
class HeaderParserProperties {
    private static final String CHARS = "abcXYZ019._-<>/ é中\"\\";

    /** A tensor before offsets are assigned. */
    record Spec(Dtype dtype, long[] shape) {}

    /** One mutation of one real file. */
    record Mutant(int file, Mutations.Kind kind, int posSeed, int value, long longValue) {
        byte[] apply() {
            return Mutations.mutate(
                    Mutations.REAL_FILES.get(file), kind, posSeed, value, longValue);
        }
    }

    @Property(tries = 300)
    void writtenHeadersReadBackEqual(
            @ForAll @Size(max = 8) List<@net.jqwik.api.From("specs") Spec> specs,
            @ForAll("metadata") Map<String, String> metadata,
            @ForAll boolean metadataPresent,
            @ForAll @IntRange(max = 7) int trailingSpaces,
            @ForAll Random random)
            throws Exception {
        List<TensorInfo> dataOrder = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            long size = s.dtype().bits() * elements(s.shape()) / 8;
            dataOrder.add(
                    new TensorInfo(name(i, random), s.dtype(), s.shape(), offset, offset + size));
            offset += size;
        }
        List<TensorInfo> jsonOrder = new ArrayList<>(dataOrder);
        Collections.shuffle(jsonOrder, random);
        boolean writeNull = !metadataPresent && random.nextBoolean();

        byte[] file =
                SafetensorsBytes.write(
                        jsonOrder,
                        metadataPresent ? metadata : null,
                        writeNull,
                        trailingSpaces,
                        offset);
        SafetensorsHeader h = SafetensorsBytes.parse(file);

        List<TensorInfo> expected = new ArrayList<>(dataOrder);
        expected.sort(TensorLayout.OFFSET_ORDER);
        assertThat(h.tensors()).containsExactlyElementsOf(expected);
        assertThat(h.metadata()).isEqualTo(metadataPresent ? metadata : Map.of());
        assertThat(h.dataSize()).isEqualTo(offset);
        assertThat(h.fileSize()).isEqualTo(file.length);
    }

    @Property(tries = 300)
    void mutatedRealFilesParseToValidHeadersOrFailWithSafetensorsException(
            @ForAll("mutants") Mutant mutant) {
        byte[] bytes = mutant.apply();
        try {
            SafetensorsHeader h = SafetensorsBytes.parse(bytes);
            assertThat(Mutations.brokenRule(h, bytes.length)).isNull();
        } catch (SafetensorsException expected) {
            assertThat(expected.reason()).isNotNull();
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Provide
    Arbitrary<Spec> specs() {
        Arbitrary<long[]> shapes =
                Arbitraries.longs().between(0, 5).array(long[].class).ofMaxSize(4);
        return Combinators.combine(Arbitraries.of(Dtype.class), shapes)
                .as((dtype, shape) -> new Spec(dtype, wholeBytes(dtype, shape)));
    }

    @Provide
    Arbitrary<Map<String, String>> metadata() {
        Arbitrary<String> text = Arbitraries.strings().withChars(CHARS).ofMaxLength(8);
        return Arbitraries.maps(text.filter(k -> !k.isEmpty()), text)
                .ofMaxSize(4)
                .map(LinkedHashMap::new);
    }

    @Provide
    Arbitrary<Mutant> mutants() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, Mutations.REAL_FILES.size() - 1),
                        Arbitraries.of(Mutations.Kind.class),
                        Arbitraries.integers(),
                        Arbitraries.integers().between(0, 255),
                        Arbitraries.longs())
                .as(Mutant::new);
    }

    /** Sub-byte dtypes (F4, F6) get a trailing dimension of 8 when needed for whole bytes. */
    private static long[] wholeBytes(Dtype dtype, long[] shape) {
        if (elements(shape) * dtype.bits() % 8 == 0) {
            return shape;
        }
        long[] longer = java.util.Arrays.copyOf(shape, shape.length + 1);
        longer[shape.length] = 8;
        return longer;
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static String name(int i, Random random) {
        StringBuilder sb = new StringBuilder("t").append(i).append('_');
        for (int k = random.nextInt(4); k > 0; k--) {
            sb.append(CHARS.charAt(random.nextInt(CHARS.length())));
        }
        return sb.toString();
    }
}
