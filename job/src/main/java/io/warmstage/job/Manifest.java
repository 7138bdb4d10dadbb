package io.warmstage.job;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.warmstage.cache.ContentPins;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.plan.Placement;
import io.warmstage.storage.ObjectStores;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.flink.util.TimeUtils;

/**
 * A staging manifest (YAML or JSON):
 *
 * <pre>
 * device: cpu                      # cpu | cuda | cuda:N | auto
 * cacheDir: /var/cache/warmstage   # optional; no cache when absent
 * parallelism: 2                   # staging slots (default: the cluster's parallelism)
 * fetchMode: per-host              # per-target (default) | per-host | fan-out
 * refresh: 10m                     # optional: keep running, re-check every interval (>= 1 s)
 * models:
 *   - name: llama-3-8b             # optional; defaults to the URI
 *     uri: s3://models/llama-3-8b/model.safetensors.index.json
 *     placement: {replicas: 2}     # optional: {slots: all} (default) | {replicas: N} | {hosts: REGEX}
 *     version: "\"9b2cf5...\""      # optional: the ETag / generation the file must have
 *     sha256: {model-00001-of-00004.safetensors: 3f5a...}  # optional: per file (a string for
 *                                  # a single .safetensors file): staged bytes must hash to it
 * </pre>
 *
 * Durations are Flink durations: {@code 30 s}, {@code 10m}, {@code 1h}.
 */
public final class Manifest {
    /** One model entry. */
    public static final class Model {
        @JsonProperty public String name;
        @JsonProperty public String uri;
        @JsonProperty public PlacementEntry placement;

        /**
         * The version token (ETag, GCS generation, or for file:// the modification time in
         * nanoseconds, as a run that fails on it prints it) every file of the model must have; the
         * model fails otherwise.
         */
        @JsonProperty public String version;

        /**
         * SHA-256 of the file (64 hex digits, what the Hugging Face hub lists for LFS files), or
         * for a sharded checkpoint a map from shard file name (as in the index's weight_map) to its
         * SHA-256: staged bytes must hash to it, and the cache trusts a copy keyed by it.
         */
        @JsonProperty public JsonNode sha256;
    }

    /** Which slots hold a model: exactly one of the fields. */
    public static final class PlacementEntry {
        /** {@code all}: every slot. */
        @JsonProperty public String slots;

        /** N slots spread over the hosts. */
        @JsonProperty public Integer replicas;

        /** A regular expression on host names; the slots of matching hosts. */
        @JsonProperty public String hosts;
    }

    @JsonProperty public String device;
    @JsonProperty public String cacheDir;
    @JsonProperty public Integer parallelism;
    @JsonProperty public String fetchMode;
    @JsonProperty public String refresh;
    @JsonProperty public List<Model> models = new ArrayList<>();

    private Path base = Path.of("");

    private static final Pattern SCHEME = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]+:");

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
            if (java.nio.file.Files.isRegularFile(file)
                    && java.nio.file.Files.readString(file).isBlank()) {
                throw new IllegalArgumentException("manifest " + file + ": empty");
            }
            JsonNode tree = YAML.readTree(file.toFile());
            if (tree == null || tree.isMissingNode()) {
                throw new IllegalArgumentException("manifest " + file + ": empty");
            }
            if (!tree.isObject()) {
                throw new IllegalArgumentException(
                        "manifest "
                                + file
                                + ": not a YAML mapping (it is "
                                + kind(tree)
                                + "); expected keys such as 'models:' and 'device:'");
            }
            m = YAML.treeToValue(tree, Manifest.class);
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException(
                    "manifest " + file + ": " + e.getOriginalMessage() + location(e), e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "manifest "
                            + file
                            + ": not valid YAML: "
                            + e.getOriginalMessage()
                            + location(e),
                    e);
        } catch (IOException e) {
            throw new IllegalArgumentException("manifest " + file + ": " + e.getMessage(), e);
        }
        if (m == null) {
            throw new IllegalArgumentException("manifest " + file + ": empty");
        }
        m.check(file);
        Path parent = file.toAbsolutePath().getParent();
        m.base = parent == null ? Path.of("") : parent;
        try {
            m.pins();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("manifest " + file + ": " + e.getMessage(), e);
        }
        return m;
    }

    /**
     * The models as specs, in manifest order. A URI without a scheme is a path relative to the
     * manifest's directory.
     */
    public List<ModelSpec> specs() {
        List<ModelSpec> out = new ArrayList<>();
        for (Model e : models) {
            // Any scheme (ftp: too, refused up front), not a Windows drive letter.
            boolean hasScheme = SCHEME.matcher(e.uri).lookingAt();
            String uri = hasScheme ? e.uri : base.resolve(e.uri).normalize().toUri().toString();
            out.add(new ModelSpec(e.name, uri, placement(e.placement), e.version));
        }
        return out;
    }

    /**
     * The SHA-256 pins of the models' files by file URI, as {@link io.warmstage.cache.ContentPins}
     * takes them; empty when no model has one.
     */
    public Map<String, String> pins() {
        Map<String, String> pins = new TreeMap<>();
        List<ModelSpec> specs = specs();
        for (int i = 0; i < models.size(); i++) {
            JsonNode sha = models.get(i).sha256;
            ModelSpec spec = specs.get(i);
            String what = "models[" + i + "].sha256";
            if (sha == null || sha.isNull()) {
                continue;
            }
            if (sha.isTextual() && !spec.isIndex()) {
                pins.put(
                        ObjectStores.toUri(spec.uri()).toString(),
                        ContentPins.normalize(what, sha.asText()));
            } else if (sha.isObject() && spec.isIndex()) {
                sha.fields()
                        .forEachRemaining(
                                f ->
                                        pins.put(
                                                ModelPlanner.shardUri(spec.uri(), f.getKey()),
                                                ContentPins.normalize(
                                                        what + "." + f.getKey(),
                                                        f.getValue().asText())));
            } else {
                throw new IllegalArgumentException(
                        what
                                + ": give 64 hex digits for a .safetensors file, or a map from"
                                + " shard file name to 64 hex digits for an index.json");
            }
        }
        return pins;
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
        for (int i = 0; i < models.size(); i++) {
            try {
                placement(models.get(i).placement);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        "manifest " + file + ": models[" + i + "].placement: " + ex.getMessage());
            }
        }
        if (fetchMode != null) {
            try {
                FetchMode.parse(fetchMode);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        "manifest " + file + ": fetchMode: " + ex.getMessage());
            }
        }
        if (refresh != null) {
            try {
                refreshInterval();
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        "manifest " + file + ": refresh: " + ex.getMessage());
            }
        }
        if (parallelism != null && parallelism < 1) {
            throw new IllegalArgumentException(
                    "manifest " + file + ": parallelism must be at least 1, got " + parallelism);
        }
    }

    /** The refresh interval, or null when the manifest has none. */
    public Duration refreshInterval() {
        return refresh == null ? null : parseRefresh(refresh);
    }

    /**
     * A refresh interval: a Flink duration ({@code 30 s}, {@code 10m}, {@code 1h}) of at least 1 s.
     *
     * @throws IllegalArgumentException saying which rule {@code s} breaks
     */
    public static Duration parseRefresh(String s) {
        Duration d;
        try {
            d = TimeUtils.parseDuration(s);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException(
                    "'" + s + "' is not a duration (e.g. 30 s, 10m, 1h)");
        }
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("must be at least 1 s, got " + s);
        }
        return d;
    }

    private static Placement placement(PlacementEntry p) {
        if (p == null) {
            return Placement.ALL;
        }
        int set =
                (p.slots != null ? 1 : 0)
                        + (p.replicas != null ? 1 : 0)
                        + (p.hosts != null ? 1 : 0);
        if (set != 1) {
            throw new IllegalArgumentException(
                    "give exactly one of slots: all, replicas: N, hosts: REGEX");
        }
        if (p.slots != null) {
            if (!"all".equalsIgnoreCase(p.slots.trim())) {
                throw new IllegalArgumentException("slots must be 'all', got '" + p.slots + "'");
            }
            return Placement.ALL;
        }
        return p.replicas != null ? Placement.replicas(p.replicas) : Placement.hosts(p.hosts);
    }

    private static String kind(JsonNode n) {
        return n.isArray()
                ? "a list"
                : n.isTextual() ? "a string" : n.isNumber() ? "a number" : "a " + n.getNodeType();
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null
                ? ""
                : " (line "
                        + e.getLocation().getLineNr()
                        + ", column "
                        + e.getLocation().getColumnNr()
                        + ")";
    }
}
