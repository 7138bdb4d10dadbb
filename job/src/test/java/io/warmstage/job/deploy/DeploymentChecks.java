package io.warmstage.job.deploy;

import static io.warmstage.job.deploy.DeploymentFiles.interpolate;
import static io.warmstage.job.deploy.DeploymentFiles.names;
import static io.warmstage.job.deploy.DeploymentFiles.words;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.deploy.DeploymentFiles.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Checks of a Compose file and a manifest that return what is wrong, one line per problem, so that
 * {@link DeploymentFilesTest} can show both that the real files pass and that a broken one fails.
 */
final class DeploymentChecks {
    private static final Set<String> MANIFEST_FIELDS =
            Set.of("fetchMode", "device", "cacheDir", "refresh", "parallelism", "models");
    private static final Set<String> MODEL_FIELDS = Set.of("name", "uri", "placement", "version");
    private static final Set<String> FETCH_MODES = Set.of("per-target", "per-host", "fan-out");
    private static final Pattern DEVICE = Pattern.compile("cpu|cuda|cuda:\\d+|auto");
    private static final Pattern DURATION = Pattern.compile("\\d+\\s*(ms|s|m|min|h|d)");

    private DeploymentChecks() {}

    /**
     * Host-side paths of a Compose file: every build context and Dockerfile, and every bind-mount
     * source, must exist (relative paths are relative to the Compose file's directory, as Compose
     * resolves them); every named volume must be declared; every {@code depends_on} must name a
     * service.
     */
    static List<String> composePathProblems(JsonNode compose, Path composeDir) {
        List<String> problems = new ArrayList<>();
        JsonNode services = compose.path("services");
        Set<String> declaredVolumes = new HashSet<>(names(compose.path("volumes")));
        services.fields()
                .forEachRemaining(
                        e -> {
                            String name = e.getKey();
                            JsonNode service = e.getValue();
                            checkBuild(name, service.path("build"), composeDir, problems);
                            checkVolumes(name, service, composeDir, declaredVolumes, problems);
                            for (String dep : names(service.path("depends_on"))) {
                                if (!services.has(dep)) {
                                    problems.add(name + ": depends_on unknown service " + dep);
                                }
                            }
                        });
        return problems;
    }

    private static void checkBuild(
            String service, JsonNode build, Path composeDir, List<String> problems) {
        if (build.isMissingNode()) {
            return;
        }
        String contextText = build.isTextual() ? build.asText() : build.path("context").asText(".");
        Path context = composeDir.resolve(interpolate(contextText)).normalize();
        if (!Files.isDirectory(context)) {
            problems.add(service + ": build context " + context + " is not a directory");
            return;
        }
        String dockerfile = build.path("dockerfile").asText("Dockerfile");
        if (!Files.isRegularFile(context.resolve(dockerfile))) {
            problems.add(service + ": Dockerfile " + context.resolve(dockerfile) + " is missing");
        }
    }

    private static void checkVolumes(
            String service,
            JsonNode node,
            Path composeDir,
            Set<String> declared,
            List<String> problems) {
        for (JsonNode spec : node.path("volumes")) {
            Volume v;
            try {
                v = Volume.parse(spec.asText());
            } catch (IllegalArgumentException e) {
                problems.add(service + ": volume " + spec.asText() + ": " + e.getMessage());
                continue;
            }
            if (v.isBind() && !Files.exists(composeDir.resolve(v.source()).normalize())) {
                problems.add(service + ": bind-mount source " + v.source() + " does not exist");
            } else if (!v.isBind() && !declared.contains(v.source())) {
                problems.add(service + ": named volume " + v.source() + " is not declared");
            }
        }
    }

    /** Services that run a Flink TaskManager ({@code command: [taskmanager, ...]}). */
    static List<String> taskManagers(JsonNode compose) {
        List<String> out = new ArrayList<>();
        compose.path("services")
                .fields()
                .forEachRemaining(
                        e -> {
                            List<String> cmd = words(e.getValue().path("command"));
                            if (!cmd.isEmpty() && cmd.get(0).equals("taskmanager")) {
                                out.add(e.getKey());
                            }
                        });
        return out;
    }

    /**
     * Every TaskManager reserves NVIDIA GPUs ({@code deploy.resources.reservations.devices}: driver
     * nvidia, capability gpu, device_ids or a count of at least 1), and no GPU id is reserved by
     * two TaskManagers.
     */
    static List<String> gpuReservationProblems(JsonNode compose) {
        List<String> problems = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        for (String tm : taskManagers(compose)) {
            JsonNode devices =
                    compose.path("services")
                            .path(tm)
                            .path("deploy")
                            .path("resources")
                            .path("reservations")
                            .path("devices");
            boolean gpu = false;
            for (JsonNode d : devices) {
                if (!d.path("driver").asText().equals("nvidia")
                        || !names(d.path("capabilities")).contains("gpu")) {
                    continue;
                }
                List<String> ids = names(d.path("device_ids"));
                gpu |= !ids.isEmpty() || d.path("count").asInt(0) >= 1;
                for (String id : ids) {
                    if (!taken.add(id)) {
                        problems.add(tm + ": GPU " + id + " is reserved by another TaskManager");
                    }
                }
            }
            if (!gpu) {
                problems.add(tm + ": reserves no nvidia GPU device");
            }
        }
        return problems;
    }

    /**
     * A manifest in the fleet format: known fields only, {@code fetchMode}, {@code device} and
     * {@code refresh} from their vocabularies, and at least one model, each with a name, a URI and
     * at most one placement ({@code replicas >= 1}, {@code slots: all} or a {@code hosts} regex).
     */
    static List<String> manifestProblems(JsonNode m) {
        List<String> problems = new ArrayList<>();
        m.fieldNames()
                .forEachRemaining(
                        f -> {
                            if (!MANIFEST_FIELDS.contains(f)) {
                                problems.add("unknown field " + f);
                            }
                        });
        if (m.has("fetchMode") && !FETCH_MODES.contains(m.path("fetchMode").asText())) {
            problems.add(
                    "fetchMode "
                            + m.path("fetchMode").asText()
                            + " is not per-target|per-host|fan-out");
        }
        if (m.has("device") && !DEVICE.matcher(m.path("device").asText()).matches()) {
            problems.add("device " + m.path("device").asText() + " is not cpu|cuda|cuda:N|auto");
        }
        if (m.has("refresh") && !DURATION.matcher(m.path("refresh").asText()).matches()) {
            problems.add("refresh " + m.path("refresh").asText() + " is not a duration");
        }
        if (!m.path("models").isArray() || m.path("models").isEmpty()) {
            problems.add("no models");
        }
        for (JsonNode model : m.path("models")) {
            modelProblems(model, problems);
        }
        return problems;
    }

    private static void modelProblems(JsonNode model, List<String> problems) {
        String name = model.path("name").asText("");
        model.fieldNames()
                .forEachRemaining(
                        f -> {
                            if (!MODEL_FIELDS.contains(f)) {
                                problems.add("model " + name + ": unknown field " + f);
                            }
                        });
        if (name.isBlank() || model.path("uri").asText("").isBlank()) {
            problems.add("model " + name + ": needs a name and a uri");
        }
        if (model.has("placement")) {
            placementProblems(name, model.path("placement"), problems);
        }
    }

    private static void placementProblems(String model, JsonNode p, List<String> problems) {
        if (p.size() != 1) {
            problems.add(
                    "model " + model + ": placement needs exactly one of replicas/slots/hosts");
        } else if (p.has("replicas")) {
            if (!p.path("replicas").canConvertToInt() || p.path("replicas").asInt() < 1) {
                problems.add("model " + model + ": placement replicas is not a count >= 1");
            }
        } else if (p.has("slots")) {
            if (!p.path("slots").asText().equals("all")) {
                problems.add("model " + model + ": placement slots is not 'all'");
            }
        } else if (p.has("hosts")) {
            try {
                Pattern.compile(p.path("hosts").asText());
            } catch (PatternSyntaxException e) {
                problems.add("model " + model + ": placement hosts is not a regex");
            }
        } else {
            problems.add("model " + model + ": unknown placement " + p);
        }
    }
}
