package io.warmstage.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates the read-only test data in {@code ../shared/data} beside the repository. */
public final class SharedData {
    private SharedData() {}

    /** The {@code shared/data} folder (system property {@code warmstage.shared.data}). */
    public static Path root() {
        String p = System.getProperty("warmstage.shared.data");
        Path root = p != null ? Path.of(p) : Path.of("..", "..", "shared", "data");
        if (!Files.isDirectory(root)) {
            root = Path.of("..", "shared", "data");
        }
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException(
                    "test data not found at " + root.toAbsolutePath() + " (../shared/data)");
        }
        return root.toAbsolutePath().normalize();
    }

    /** The {@code real/} folder of real safetensors files. */
    public static Path real() {
        return root().resolve("real");
    }

    /** The {@code real/malformed/} folder. */
    public static Path malformed() {
        return real().resolve("malformed");
    }

    /** The sharded checkpoint folder (6 shards + model.safetensors.index.json). */
    public static Path sharded() {
        return real().resolve("FluxML_SafeTensors.jl__test__sharded");
    }

    /** Every valid {@code .safetensors} file in {@code real/}, shards included, sorted. */
    public static List<Path> validFiles() {
        try (Stream<Path> s = Files.walk(real())) {
            return s.filter(f -> f.toString().endsWith(".safetensors"))
                    .filter(f -> !f.startsWith(malformed()))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The two malformed files. */
    public static List<Path> malformedFiles() {
        try (Stream<Path> s = Files.list(malformed())) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
