package io.warmstage.job.deploy;

import static io.warmstage.job.deploy.DeploymentFiles.interpolate;
import static io.warmstage.job.deploy.DeploymentFiles.names;
import static io.warmstage.job.deploy.DeploymentFiles.words;

import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.Manifest;
import io.warmstage.job.deploy.DeploymentFiles.Volume;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks of a Compose file and a manifest that return what is wrong, one line per problem, so that
 * {@link DeploymentFilesTest} can show both that the real files pass and that a broken one fails.
 */
final class DeploymentChecks {
    private static final Pattern DEVICE = Pattern.compile("cpu|cuda|cuda:\\d+|auto");

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
     * A manifest as Warmstage itself reads it ({@link Manifest#read}: known fields, fetch mode,
     * refresh, placements, models), plus a {@code device} from {@code cpu|cuda|cuda:N|auto}
     * (checked by the CLI at start-up, not by the reader).
     */
    static List<String> manifestProblems(String yaml) throws IOException {
        List<String> problems = new ArrayList<>();
        Path file = Files.createTempFile("manifest", ".yaml");
        try {
            Files.writeString(file, yaml);
            Manifest m = Manifest.read(file);
            if (m.device != null && !DEVICE.matcher(m.device).matches()) {
                problems.add("device " + m.device + " is not cpu|cuda|cuda:N|auto");
            }
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage().replace(file.toString(), "<manifest>"));
        } finally {
            Files.delete(file);
        }
        return problems;
    }
}
