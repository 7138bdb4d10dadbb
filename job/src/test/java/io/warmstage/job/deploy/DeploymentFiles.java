package io.warmstage.job.deploy;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Readers of the deployment files ({@code docker/Dockerfile}, {@code docker/compose.yaml}, {@code
 * docker/k8s/*.yaml}, {@code conf/*}, the poms) for {@link DeploymentFilesTest}: only what the
 * checks need, no Docker, no Kubernetes.
 */
final class DeploymentFiles {
    /** YAML with duplicate keys rejected (Flink's and Compose's parsers reject them too). */
    static final ObjectMapper YAML =
            new ObjectMapper(
                    YAMLFactory.builder()
                            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                            .build());

    private static final Pattern INTERPOLATION =
            Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)}");

    private DeploymentFiles() {}

    /**
     * The repository root: the nearest directory at or above the working directory (surefire runs
     * in {@code job/}) or above {@code warmstage.shared.data} that holds the parent pom and {@code
     * docker/}.
     */
    static Path repoRoot() {
        List<Path> starts = new ArrayList<>();
        starts.add(Path.of("").toAbsolutePath());
        Optional.ofNullable(System.getProperty("warmstage.shared.data"))
                .map(p -> Path.of(p).toAbsolutePath().normalize().getParent())
                .ifPresent(starts::add);
        for (Path start : starts) {
            for (Path dir = start; dir != null; dir = dir.getParent()) {
                if (isRepoRoot(dir)) {
                    return dir;
                }
            }
        }
        throw new IllegalStateException("no Warmstage repository root above " + starts);
    }

    private static boolean isRepoRoot(Path dir) {
        try {
            return Files.isDirectory(dir.resolve("docker"))
                    && Files.isRegularFile(dir.resolve("pom.xml"))
                    && Files.readString(dir.resolve("pom.xml"))
                            .contains("<artifactId>warmstage-parent</artifactId>");
        } catch (IOException e) {
            return false;
        }
    }

    static JsonNode readYaml(Path file) throws IOException {
        return YAML.readTree(file.toFile());
    }

    static JsonNode readYaml(String text) throws IOException {
        return YAML.readTree(text);
    }

    /** Every document of a multi-document YAML file ({@code ---} separated). */
    static List<JsonNode> readYamlDocuments(Path file) throws IOException {
        try (var docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
            return docs.readAll();
        }
    }

    /**
     * A nested Flink {@code config.yaml} as flat keys ({@code a: {b: 1}} becomes {@code a.b});
     * lists stay nodes.
     */
    static Map<String, JsonNode> flatten(JsonNode node) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        flatten("", node, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, JsonNode> out) {
        if (!(node instanceof ObjectNode)) {
            out.put(prefix, node);
            return;
        }
        node.fields()
                .forEachRemaining(
                        e ->
                                flatten(
                                        prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(),
                                        e.getValue(),
                                        out));
    }

    /**
     * Compose's variable interpolation with the variables unset: {@code ${VAR:-default}} and {@code
     * ${VAR-default}} become the default.
     *
     * @throws IllegalArgumentException for a {@code ${VAR}} without default (its value would depend
     *     on the environment)
     */
    static String interpolate(String value) {
        Matcher m = INTERPOLATION.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String rest = m.group(2);
            String fallback;
            if (rest.startsWith(":-")) {
                fallback = rest.substring(2);
            } else if (rest.startsWith("-")) {
                fallback = rest.substring(1);
            } else {
                throw new IllegalArgumentException("${" + m.group(1) + "} has no default");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(fallback));
        }
        m.appendTail(out);
        return out.toString();
    }

    /**
     * {@code FLINK_PROPERTIES} as the Flink image's entrypoint reads it: one {@code key: value} a
     * line, all whitespace removed, split at the first colon; then Compose's interpolation.
     */
    static Map<String, String> flinkProperties(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String prop = line.replaceAll("\\s", "");
            int colon = prop.indexOf(':');
            if (colon > 0) {
                out.put(prop.substring(0, colon), interpolate(prop.substring(colon + 1)));
            }
        }
        return out;
    }

    /** A Compose list or map ({@code depends_on}, {@code environment}) as its names. */
    static List<String> names(JsonNode listOrMap) {
        List<String> out = new ArrayList<>();
        if (listOrMap == null || listOrMap.isMissingNode()) {
            return out;
        }
        if (listOrMap.isArray()) {
            listOrMap.forEach(n -> out.add(n.asText()));
        } else {
            listOrMap.fieldNames().forEachRemaining(out::add);
        }
        return out;
    }

    /** A Compose {@code command} (list or string) as words. */
    static List<String> words(JsonNode command) {
        List<String> out = new ArrayList<>();
        if (command.isArray()) {
            command.forEach(n -> out.add(n.asText()));
        } else if (!command.isMissingNode()) {
            out.addAll(List.of(command.asText().trim().split("\\s+")));
        }
        return out;
    }

    /** The word after {@code option} in {@code words}, if any. */
    static Optional<String> optionValue(List<String> words, String option) {
        int i = words.indexOf(option);
        return i >= 0 && i + 1 < words.size() ? Optional.of(words.get(i + 1)) : Optional.empty();
    }

    /** One short-syntax Compose volume {@code source:target[:mode]}. */
    record Volume(String source, String target) {
        static Volume parse(String spec) {
            String[] parts = interpolate(spec).split(":");
            if (parts.length < 2) {
                return new Volume("", parts[0]);
            }
            return new Volume(parts[0], parts[1]);
        }

        /** A host path (bind mount), not a named volume. */
        boolean isBind() {
            return source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
        }
    }

    /** A parsed Dockerfile: base image, {@code ARG} defaults, {@code COPY}s, and its RUN text. */
    record Dockerfile(String from, Map<String, String> args, List<Copy> copies, String run) {
        /** Parses instructions after joining continuation lines and dropping comment lines. */
        static Dockerfile parse(String text) {
            String from = null;
            Map<String, String> args = new LinkedHashMap<>();
            List<Copy> copies = new ArrayList<>();
            StringBuilder run = new StringBuilder();
            for (String line : instructions(text)) {
                String[] words = line.trim().split("\\s+");
                String keyword = words[0].toUpperCase(java.util.Locale.ROOT);
                switch (keyword) {
                    case "FROM" -> from = substitute(words[1], args);
                    case "ARG" -> putArg(words[1], args);
                    case "COPY" -> copies.add(Copy.of(words, args));
                    case "RUN" -> run.append(line.substring(3).trim()).append('\n');
                    default -> {}
                }
            }
            return new Dockerfile(from, args, copies, run.toString());
        }

        private static List<String> instructions(String text) {
            List<String> out = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            for (String raw : text.split("\n")) {
                String line = raw.strip();
                if (line.startsWith("#") || (line.isEmpty() && current.length() == 0)) {
                    continue;
                }
                boolean continues = line.endsWith("\\");
                current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
                if (!continues) {
                    out.add(current.toString().trim());
                    current.setLength(0);
                }
            }
            return out;
        }

        private static void putArg(String word, Map<String, String> args) {
            int eq = word.indexOf('=');
            if (eq < 0) {
                args.put(word, null);
            } else {
                args.put(word.substring(0, eq), word.substring(eq + 1));
            }
        }

        static String substitute(String word, Map<String, String> args) {
            String out = word;
            for (var e : args.entrySet()) {
                if (e.getValue() != null) {
                    out = out.replace("${" + e.getKey() + "}", e.getValue());
                    out = out.replace("$" + e.getKey(), e.getValue());
                }
            }
            return out;
        }
    }

    /** One {@code COPY [--flag...] source... dest}, with ARG defaults substituted. */
    record Copy(List<String> sources, String dest) {
        static Copy of(String[] words, Map<String, String> args) {
            List<String> paths = new ArrayList<>();
            for (int i = 1; i < words.length; i++) {
                if (!words[i].startsWith("--")) {
                    paths.add(Dockerfile.substitute(words[i], args));
                }
            }
            return new Copy(paths.subList(0, paths.size() - 1), paths.get(paths.size() - 1));
        }
    }

    /** What the checks read from the poms. */
    record Pom(
            String artifactId,
            String version,
            String finalName,
            String mainClass,
            Map<String, String> properties) {
        /** The job module's pom and the parent's properties. */
        static Pom read(Path jobPom, Path parentPom) throws Exception {
            Element job = parse(jobPom);
            Element parent = parse(parentPom);
            String artifactId = child(job, "artifactId");
            String version =
                    Optional.ofNullable(child(job, "version"))
                            .orElse(child(firstElement(job, "parent"), "version"));
            Element build = firstElement(job, "build");
            String finalName =
                    Optional.ofNullable(build == null ? null : child(build, "finalName"))
                            .orElse(artifactId + "-" + version);
            Element main = firstElement(job, "mainClass");
            Map<String, String> props = new LinkedHashMap<>();
            NodeList list = firstElement(parent, "properties").getChildNodes();
            for (int i = 0; i < list.getLength(); i++) {
                if (list.item(i) instanceof Element e) {
                    props.put(e.getTagName(), e.getTextContent().trim());
                }
            }
            return new Pom(
                    artifactId,
                    version,
                    finalName,
                    main == null ? null : main.getTextContent().trim(),
                    props);
        }

        private static Element parse(Path file) throws Exception {
            Document doc =
                    DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
            return doc.getDocumentElement();
        }

        /** The text of a direct child element, or null. */
        private static String child(Element parent, String tag) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && e.getTagName().equals(tag)) {
                    return e.getTextContent().trim();
                }
            }
            return null;
        }

        private static Element firstElement(Element root, String tag) {
            NodeList list = root.getElementsByTagName(tag);
            return list.getLength() == 0 ? null : (Element) list.item(0);
        }
    }
}
