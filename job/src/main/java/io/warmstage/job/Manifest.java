package io.warmstage.job;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.warmstage.source.ModelSpec;
import io.warmstage.storage.ObjectStores;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A staging manifest (YAML or JSON):
 *
 * <pre>
 * device: cpu                      # cpu | cuda | cuda:N | auto
 * cacheDir: /var/cache/warmstage   # optional; no cache when absent
 * parallelism: 2                   # staging slots
 * models:
 *   - name: llama-3-8b             # optional; defaults to the URI
 *     uri: s3://models/llama-3-8b/model.safetensors.index.json
 * </pre>
 */
public final class Manifest {
    /** One model entry. */
    public static final class Model {
        @JsonProperty public String name;
        @JsonProperty public String uri;
    }

    @JsonProperty public String device;
    @JsonProperty public String cacheDir;
    @JsonProperty public Integer parallelism;
    @JsonProperty public List<Model> models = new ArrayList<>();

    private Path base = Path.of("");

    private static final ObjectMapper YAML =
            new ObjectMapper(new YAMLFactory())
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /**
     * Reads and checks a manifest.
     *
     * @throws IllegalArgumentException naming the file and what is wrong: unreadable, an unknown
     *     field, no models, a model without a URI, a name used twice, parallelism below 1
     */
    public static Manifest read(Path file) {
        Manifest m;
        try {
            m = YAML.readValue(file.toFile(), Manifest.class);
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException(
                    "manifest " + file + ": " + e.getOriginalMessage() + location(e), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("manifest " + file + ": " + e.getMessage(), e);
        }
        if (m == null) {
            throw new IllegalArgumentException("manifest " + file + ": empty");
        }
        m.check(file);
        Path parent = file.toAbsolutePath().getParent();
        m.base = parent == null ? Path.of("") : parent;
        return m;
    }

    /**
     * The models as specs, in manifest order. A URI without a scheme is a path relative to the
     * manifest's directory.
     */
    public List<ModelSpec> specs() {
        List<ModelSpec> out = new ArrayList<>();
        for (Model e : models) {
            boolean hasScheme =
                    ObjectStores.ACCEPTED_SCHEMES.stream()
                            .anyMatch(
                                    sc ->
                                            e.uri.regionMatches(
                                                    true, 0, sc + ":", 0, sc.length() + 1));
            String uri = hasScheme ? e.uri : base.resolve(e.uri).normalize().toUri().toString();
            out.add(new ModelSpec(e.name, uri));
        }
        return out;
    }

    private void check(Path file) {
        if (models == null || models.isEmpty()) {
            throw new IllegalArgumentException("manifest " + file + ": no models");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < models.size(); i++) {
            Model e = models.get(i);
            if (e == null || e.uri == null || e.uri.isBlank()) {
                throw new IllegalArgumentException(
                        "manifest " + file + ": models[" + i + "] has no uri");
            }
            String name = e.name == null || e.name.isBlank() ? e.uri : e.name;
            if (!names.add(name)) {
                throw new IllegalArgumentException(
                        "manifest " + file + ": model name '" + name + "' used twice");
            }
        }
        if (parallelism != null && parallelism < 1) {
            throw new IllegalArgumentException(
                    "manifest " + file + ": parallelism must be at least 1, got " + parallelism);
        }
    }

    private static String location(JsonMappingException e) {
        return e.getLocation() == null
                ? ""
                : " (line "
                        + e.getLocation().getLineNr()
                        + ", column "
                        + e.getLocation().getColumnNr()
                        + ")";
    }
}
