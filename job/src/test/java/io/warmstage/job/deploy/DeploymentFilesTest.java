package io.warmstage.job.deploy;

import static io.warmstage.job.deploy.DeploymentFiles.flatten;
import static io.warmstage.job.deploy.DeploymentFiles.flinkProperties;
import static io.warmstage.job.deploy.DeploymentFiles.names;
import static io.warmstage.job.deploy.DeploymentFiles.optionValue;
import static io.warmstage.job.deploy.DeploymentFiles.words;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import io.warmstage.job.deploy.DeploymentFiles.Copy;
import io.warmstage.job.deploy.DeploymentFiles.Dockerfile;
import io.warmstage.job.deploy.DeploymentFiles.Pom;
import io.warmstage.job.deploy.DeploymentFiles.Volume;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deployment files, checked without Docker or Kubernetes: {@code docker/Dockerfile}, {@code
 * docker/compose.yaml}, {@code docker/k8s/*.yaml} and what they name in {@code conf/} and the poms.
 * Each file is parsed and its paths, names and settings are compared with the repository.
 */
class DeploymentFilesTest {
    private static final String GPU_DRIVER_FACTORY =
            "org.apache.flink.externalresource.gpu.GPUDriverFactory";

    private static Path root;
    private static Pom pom;
    private static Dockerfile dockerfile;
    private static Map<String, JsonNode> config;
    private static JsonNode compose;
    private static List<JsonNode> k8s;

    @BeforeAll
    static void read() throws Exception {
        root = DeploymentFiles.repoRoot();
        pom = Pom.read(root.resolve("job/pom.xml"), root.resolve("pom.xml"));
        dockerfile = Dockerfile.parse(Files.readString(root.resolve("docker/Dockerfile")));
        config = flatten(DeploymentFiles.readYaml(root.resolve("conf/config.yaml")));
        compose = DeploymentFiles.readYaml(root.resolve("docker/compose.yaml"));
        k8s = new ArrayList<>();
        try (var files = Files.list(root.resolve("docker/k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                k8s.addAll(DeploymentFiles.readYamlDocuments(f));
            }
        }
    }

    // ---- Dockerfile -------------------------------------------------------------------------

    @Test
    void imageIsTheOfficialFlinkImageOfThePomsFlinkVersionOnJava17() {
        assertThat(dockerfile.from())
                .isEqualTo("flink:" + pom.properties().get("flink.version") + "-java17");
    }

    @Test
    void copySourcesExistExceptTheShadedJobJarWhichMatchesThePom() {
        assertThat(pom.finalName()).isEqualTo(pom.artifactId() + "-" + pom.version());
        assertThat(dockerfile.args()).containsEntry("WARMSTAGE_VERSION", pom.version());
        List<String> sources =
                dockerfile.copies().stream().flatMap(c -> c.sources().stream()).toList();
        assertThat(sources)
                .containsExactlyInAnyOrder(
                        "conf/config.yaml", "job/target/" + pom.finalName() + ".jar");
        for (String src : sources) {
            if (!src.startsWith("job/target/")) {
                assertThat(root.resolve(src)).as("COPY source %s", src).isRegularFile();
            }
        }
        assertThat(jobJarInImage()).startsWith("/opt/flink/usrlib/").endsWith(".jar");
    }

    @Test
    void dockerignoreLetsEveryCopySourceIntoTheBuildContext() throws IOException {
        List<String> lines = Files.readAllLines(root.resolve(".dockerignore"));
        assertThat(lines).contains("*");
        List<String> included =
                lines.stream().filter(l -> l.startsWith("!")).map(l -> l.substring(1)).toList();
        for (Copy copy : dockerfile.copies()) {
            for (String src : copy.sources()) {
                assertThat(included)
                        .as("a '!' line of .dockerignore matching %s", src)
                        .anyMatch(
                                p ->
                                        root.getFileSystem()
                                                .getPathMatcher("glob:" + p)
                                                .matches(Path.of(src)));
            }
        }
    }

    @Test
    void imageEnablesTheFileSystemAndGpuPluginsThatConfigUses() {
        String run = dockerfile.run();
        assertThat(run)
                .contains("cp opt/flink-s3-fs-hadoop-*.jar plugins/s3-fs-hadoop/")
                .contains("opt/flink-gs-fs-hadoop-*.jar plugins/gs-fs-hadoop/");
        String script = config.get("external-resource.gpu.param.discovery-script.path").asText();
        assertThat(script).isEqualTo("plugins/external-resource-gpu/nvidia-gpu-discovery.sh");
        assertThat(run)
                .contains("test -x " + script)
                .contains("test -f plugins/external-resource-gpu/gpu-discovery-common.sh");
    }

    @Test
    void imageAddsJCudaOfThePomsVersionOnTheParentFirstClassPath() {
        assertThat(dockerfile.args())
                .containsEntry("JCUDA_VERSION", pom.properties().get("jcuda.version"));
        assertThat(dockerfile.args().get("JCUDA_SHA256")).matches("[0-9a-f]{64}");
        assertThat(dockerfile.args().get("JCUDA_NATIVES_SHA256")).matches("[0-9a-f]{64}");
        assertThat(dockerfile.run())
                .contains("sha256sum -c")
                .contains("lib/jcuda-natives-${JCUDA_VERSION}-linux-x86_64.jar");
        assertThat(names(config.get("classloader.parent-first-patterns.additional")))
                .contains("jcuda.");
    }

    // ---- conf/config.yaml ---------------------------------------------------------------------

    @Test
    void configEnablesOneGpuPerTaskManagerAndCheckpointsOnS3() {
        assertThat(config.get("external-resources").asText()).isEqualTo("gpu");
        assertThat(config.get("external-resource.gpu.driver-factory.class").asText())
                .isEqualTo(GPU_DRIVER_FACTORY);
        assertThat(config.get("external-resource.gpu.amount").asInt()).isEqualTo(1);
        assertThat(config.get("taskmanager.numberOfTaskSlots").asInt()).isEqualTo(1);
        assertThat(config.get("execution.checkpointing.dir").asText()).startsWith("s3://");
        assertThat(config.get("execution.checkpointing.interval").asText()).isNotBlank();
        assertThat(config.get("warmstage.cache.dir").asText())
                .isEqualTo(fleetManifest().path("cacheDir").asText());
    }

    /**
     * The per-gate cap of docs/FLEET-SCALE.md under Flink's own key (a misspelt key would be
     * ignored by Flink, leaving the fleet limit at 28 hosts).
     */
    @Test
    void configCapsTheBuffersAnInputGateRequires() {
        String key =
                org.apache.flink.configuration.NettyShuffleEnvironmentOptions
                        .NETWORK_READ_MAX_REQUIRED_BUFFERS_PER_GATE
                        .key();
        assertThat(config).containsKey(key);
        assertThat(config.get(key).asInt()).isEqualTo(16);
    }

    @Test
    void yamlReaderRejectsDuplicateKeysAsFlinkDoes() {
        assertThatThrownBy(
                        () -> DeploymentFiles.readYaml("execution:\n  a: 1\nexecution:\n  b: 2\n"))
                .isInstanceOf(JsonParseException.class)
                .hasMessageContaining("Duplicate field 'execution'");
    }

    // ---- docker/compose.yaml ------------------------------------------------------------------

    @Test
    void composeHostPathsExistAndDependenciesAreServices() {
        Path dir = root.resolve("docker");
        assertThat(DeploymentChecks.composePathProblems(compose, dir)).isEmpty();
        List<String> binds = new ArrayList<>();
        compose.path("services").forEach(s -> binds.addAll(bindSources(s, dir)));
        assertThat(binds).contains("conf/manifest-fleet.yaml", "docker/models");
        assertThat(
                        compose.path("services")
                                .path("jobmanager")
                                .path("build")
                                .path("dockerfile")
                                .asText())
                .isEqualTo("docker/Dockerfile");
    }

    @Test
    void twoTaskManagersEachReserveTheirOwnNvidiaGpuAndHostCache() {
        List<String> tms = DeploymentChecks.taskManagers(compose);
        assertThat(tms).hasSize(2);
        assertThat(DeploymentChecks.gpuReservationProblems(compose)).isEmpty();
        String cacheDir = fleetManifest().path("cacheDir").asText();
        Set<String> caches = new HashSet<>();
        for (String tm : tms) {
            JsonNode service = service(tm);
            List<String> cache =
                    volumes(service).stream()
                            .filter(v -> v.target().equals(cacheDir))
                            .map(Volume::source)
                            .toList();
            assertThat(cache).as("%s: volume at %s", tm, cacheDir).hasSize(1);
            assertThat(caches.add(cache.get(0))).as("%s: cache volume of its own", tm).isTrue();
            assertThat(service.path("image").asText())
                    .isEqualTo(service("jobmanager").path("image").asText());
        }
    }

    @Test
    void jobManagerRunsTheJobClassWithTheMountedManifest() throws IOException {
        List<String> cmd = words(service("jobmanager").path("command"));
        assertThat(cmd.get(0)).isEqualTo("standalone-job");
        assertThat(optionValue(cmd, "--job-classname")).hasValue(pom.mainClass());
        String manifest = optionValue(cmd, "--manifest").orElseThrow();
        Volume mount =
                volumes(service("jobmanager")).stream()
                        .filter(v -> v.target().equals(manifest))
                        .findFirst()
                        .orElseThrow();
        Path file = root.resolve("docker").resolve(mount.source()).normalize();
        assertThat(file).isEqualTo(root.resolve("conf/manifest-fleet.yaml"));
        JsonNode m = DeploymentFiles.readYaml(file);
        assertThat(DeploymentChecks.manifestProblems(java.nio.file.Files.readString(file)))
                .isEmpty();
        assertThat(m.path("models")).isNotEmpty();
        assertThat(io.warmstage.job.Manifest.read(file).specs()).hasSize(m.path("models").size());
    }

    @Test
    void everyFlinkServiceReachesTheS3StoreWithItsCredentials() {
        JsonNode s3 = service("s3");
        Map<String, String> store = env(s3);
        URI endpoint = URI.create(store.get("S3PROXY_ENDPOINT"));
        for (String name : List.of("jobmanager", "taskmanager-a", "taskmanager-b")) {
            Map<String, String> props = flinkProperties(env(service(name)).get("FLINK_PROPERTIES"));
            URI target = URI.create(props.get("s3.endpoint"));
            assertThat(target.getHost()).as(name).isEqualTo("s3");
            assertThat(target.getPort()).as(name).isEqualTo(endpoint.getPort());
            assertThat(props)
                    .as(name)
                    .containsEntry("jobmanager.rpc.address", "jobmanager")
                    .containsEntry("s3.path.style.access", "true")
                    .containsEntry("s3.access-key", store.get("S3PROXY_IDENTITY"))
                    .containsEntry("s3.secret-key", store.get("S3PROXY_CREDENTIAL"));
        }
    }

    @Test
    void everyBucketTheJobUsesIsAFolderOfTheStore() {
        String base = env(service("s3")).get("JCLOUDS_FILESYSTEM_BASEDIR");
        Set<String> buckets = new HashSet<>();
        fleetManifest().path("models").forEach(m -> buckets.add(bucket(m.path("uri").asText())));
        buckets.add(bucket(config.get("execution.checkpointing.dir").asText()));
        assertThat(buckets).containsExactlyInAnyOrder("models", "warmstage");
        List<String> mounted = volumes(service("s3")).stream().map(Volume::target).toList();
        for (String b : buckets) {
            assertThat(mounted).contains(base + "/" + b);
        }
    }

    // ---- docker/k8s ---------------------------------------------------------------------------

    @Test
    void flinkDeploymentRunsTheImagesJobJarOnFlink2() {
        JsonNode spec = flinkDeployment().path("spec");
        String[] flink = pom.properties().get("flink.version").split("\\.");
        assertThat(spec.path("flinkVersion").asText()).isEqualTo("v" + flink[0] + "_" + flink[1]);
        assertThat(spec.path("image").asText()).isNotBlank();
        JsonNode job = spec.path("job");
        assertThat(job.path("jarURI").asText()).isEqualTo("local://" + jobJarInImage());
        assertThat(job.path("entryClass").asText()).isEqualTo(pom.mainClass());
        assertThat(job.path("parallelism").asInt()).isGreaterThanOrEqualTo(1);
        JsonNode conf = spec.path("flinkConfiguration");
        assertThat(conf.path("execution.checkpointing.dir").asText()).startsWith("s3://");
        assertThat(conf.path("external-resource.gpu.kubernetes.config-key").asText())
                .isEqualTo("nvidia.com/gpu");
    }

    @Test
    void flinkDeploymentReadsTheManifestFromItsConfigMap() throws IOException {
        JsonNode spec = flinkDeployment().path("spec");
        String manifest =
                optionValue(names(spec.path("job").path("args")), "--manifest").orElseThrow();
        Path path = Path.of(manifest);
        JsonNode pod = spec.path("jobManager").path("podTemplate").path("spec");
        JsonNode mount = mountAt(mainContainer(pod), path.getParent().toString());
        JsonNode volume = volume(pod, mount.path("name").asText());
        String configMap = volume.path("configMap").path("name").asText();
        JsonNode data =
                k8s.stream()
                        .filter(d -> d.path("kind").asText().equals("ConfigMap"))
                        .filter(d -> d.path("metadata").path("name").asText().equals(configMap))
                        .findFirst()
                        .orElseThrow()
                        .path("data");
        String text = data.path(path.getFileName().toString()).asText();
        JsonNode m = DeploymentFiles.readYaml(text);
        assertThat(DeploymentChecks.manifestProblems(text)).isEmpty();
        assertThat(m.path("models")).isNotEmpty();
        assertThat(m.path("cacheDir").asText())
                .isEqualTo(config.get("warmstage.cache.dir").asText());
    }

    @Test
    void flinkDeploymentTaskManagersGetAGpuAndAHostCache() throws IOException {
        JsonNode spec = flinkDeployment().path("spec");
        JsonNode pod = spec.path("taskManager").path("podTemplate").path("spec");
        JsonNode main = mainContainer(pod);
        int amount =
                spec.path("flinkConfiguration")
                        .path("external-resource.gpu.amount")
                        .asInt(config.get("external-resource.gpu.amount").asInt());
        assertThat(main.path("resources").path("limits").path("nvidia.com/gpu").asInt())
                .isEqualTo(amount)
                .isGreaterThanOrEqualTo(1);
        String cacheDir = config.get("warmstage.cache.dir").asText();
        JsonNode volume = volume(pod, mountAt(main, cacheDir).path("name").asText());
        assertThat(volume.has("hostPath") || volume.has("emptyDir"))
                .as("cache volume %s is a hostPath or emptyDir", volume)
                .isTrue();
    }

    // ---- the checks themselves ----------------------------------------------------------------

    @Test
    void checksReportABrokenComposeFile() throws IOException {
        JsonNode broken =
                DeploymentFiles.readYaml(
                        """
                        services:
                          jobmanager:
                            build: {context: .., dockerfile: docker/NoSuchDockerfile}
                            volumes: ["../conf/no-such-manifest.yaml:/etc/warmstage/manifest.yaml"]
                            depends_on: [store]
                          taskmanager-a:
                            command: [taskmanager]
                            volumes: ["cache-a:/var/cache/warmstage"]
                          taskmanager-b:
                            command: taskmanager
                            deploy: {resources: {reservations: {devices:
                              [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
                          taskmanager-c:
                            command: [taskmanager]
                            deploy: {resources: {reservations: {devices:
                              [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
                        """);
        Path dir = root.resolve("docker");
        assertThat(DeploymentChecks.composePathProblems(broken, dir))
                .containsExactlyInAnyOrder(
                        "jobmanager: Dockerfile "
                                + root.resolve("docker/NoSuchDockerfile")
                                + " is missing",
                        "jobmanager: bind-mount source ../conf/no-such-manifest.yaml does not"
                                + " exist",
                        "jobmanager: depends_on unknown service store",
                        "taskmanager-a: named volume cache-a is not declared");
        assertThat(DeploymentChecks.gpuReservationProblems(broken))
                .containsExactly(
                        "taskmanager-a: reserves no nvidia GPU device",
                        "taskmanager-c: GPU 0 is reserved by another TaskManager");
    }

    @Test
    void checksReportABrokenManifest() throws IOException {
        assertThat(
                        DeploymentChecks.manifestProblems(
                                """
                                device: gpu
                                models:
                                  - name: a
                                    uri: s3://models/a.safetensors
                                """))
                .containsExactly("device gpu is not cpu|cuda|cuda:N|auto");
        assertThat(
                        DeploymentChecks.manifestProblems(
                                """
                                fetchMode: per-rack
                                models:
                                  - name: a
                                    uri: s3://models/a.safetensors
                                """))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("fetchMode", "per-rack");
        assertThat(
                        DeploymentChecks.manifestProblems(
                                """
                                models:
                                  - name: b
                                    url: s3://models/b.safetensors
                                """))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("url");
    }

    @Test
    void composeInterpolationTakesDefaultsAndRefusesUnsetVariables() {
        assertThat(DeploymentFiles.interpolate("${MODELS:-./models}:/data/models:ro"))
                .isEqualTo("./models:/data/models:ro");
        assertThatThrownBy(() -> DeploymentFiles.interpolate("${SECRET}"))
                .hasMessage("${SECRET} has no default");
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Where the Dockerfile puts the shaded job jar. */
    private static String jobJarInImage() {
        return dockerfile.copies().stream()
                .filter(c -> c.sources().contains("job/target/" + pom.finalName() + ".jar"))
                .findFirst()
                .orElseThrow()
                .dest();
    }

    private static JsonNode fleetManifest() {
        try {
            return DeploymentFiles.readYaml(root.resolve("conf/manifest-fleet.yaml"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static JsonNode service(String name) {
        JsonNode s = compose.path("services").path(name);
        assertThat(s.isObject()).as("compose service %s", name).isTrue();
        return s;
    }

    private static List<Volume> volumes(JsonNode service) {
        List<Volume> out = new ArrayList<>();
        service.path("volumes").forEach(v -> out.add(Volume.parse(v.asText())));
        return out;
    }

    /** The service's bind-mount sources, relative to the repository root. */
    private static List<String> bindSources(JsonNode service, Path composeDir) {
        return volumes(service).stream()
                .filter(Volume::isBind)
                .map(v -> root.relativize(composeDir.resolve(v.source()).normalize()).toString())
                .toList();
    }

    private static Map<String, String> env(JsonNode service) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        service.path("environment")
                .fields()
                .forEachRemaining(
                        e ->
                                out.put(
                                        e.getKey(),
                                        DeploymentFiles.interpolate(e.getValue().asText())));
        return out;
    }

    private static String bucket(String uri) {
        URI u = URI.create(uri);
        assertThat(u.getScheme()).as(uri).isEqualTo("s3");
        return u.getHost();
    }

    private static JsonNode flinkDeployment() {
        List<JsonNode> found =
                k8s.stream()
                        .filter(d -> d.path("kind").asText().equals("FlinkDeployment"))
                        .toList();
        assertThat(found).hasSize(1);
        assertThat(found.get(0).path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
        return found.get(0);
    }

    private static JsonNode mainContainer(JsonNode podSpec) {
        for (JsonNode c : podSpec.path("containers")) {
            if (c.path("name").asText().equals("flink-main-container")) {
                return c;
            }
        }
        throw new AssertionError("no flink-main-container in " + podSpec);
    }

    private static JsonNode mountAt(JsonNode container, String path) {
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(path)) {
                return m;
            }
        }
        throw new AssertionError("nothing mounted at " + path + " in " + container);
    }

    private static JsonNode volume(JsonNode podSpec, String name) {
        for (JsonNode v : podSpec.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name + " in " + podSpec);
    }
}
