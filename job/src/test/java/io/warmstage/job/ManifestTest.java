package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.plan.ModelSpec;
import io.warmstage.plan.Placement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestTest {
    @TempDir Path dir;

    private Path write(String yaml) throws Exception {
        Path p = dir.resolve("m.yaml");
        Files.writeString(p, yaml);
        return p;
    }

    @Test
    void readsFleetFields() throws Exception {
        Manifest m =
                Manifest.read(
                        write(
                                """
                                fetchMode: fan-out
                                refresh: 90 s
                                models:
                                  - name: a
                                    uri: s3://b/a.safetensors
                                    placement: {replicas: 2}
                                    version: '"etag-1"'
                                  - name: b
                                    uri: local/b.safetensors
                                    placement: {hosts: "gpu-.*"}
                                  - uri: https://h/c.safetensors
                                    placement: {slots: all}
                                """));
        assertThat(m.fetchMode).isEqualTo("fan-out");
        assertThat(m.refreshInterval()).isEqualTo(Duration.ofSeconds(90));
        List<ModelSpec> specs = m.specs();
        assertThat(specs.get(0))
                .isEqualTo(
                        new ModelSpec(
                                "a", "s3://b/a.safetensors", Placement.replicas(2), "\"etag-1\""));
        assertThat(specs.get(1).uri())
                .isEqualTo(dir.resolve("local/b.safetensors").toUri().toString());
        assertThat(specs.get(1).placement()).isEqualTo(Placement.hosts("gpu-.*"));
        assertThat(specs.get(2).placement()).isEqualTo(Placement.ALL);
        assertThat(specs.get(2).name()).isEqualTo("https://h/c.safetensors");
    }

    @Test
    void badFleetFieldsNameTheFieldAndTheRule() throws Exception {
        String base = "models:\n  - uri: s3://b/a.safetensors\n";
        assertThatThrownBy(() -> Manifest.read(write("fetchMode: per-rack\n" + base)))
                .hasMessageContaining("fetchMode")
                .hasMessageContaining("per-rack");
        assertThatThrownBy(() -> Manifest.read(write("refresh: soon\n" + base)))
                .hasMessageContaining("refresh")
                .hasMessageContaining("not a duration");
        assertThatThrownBy(() -> Manifest.read(write("refresh: 10ms\n" + base)))
                .hasMessageContaining("at least 1 s");
        assertThatThrownBy(() -> Manifest.read(write(base + "    placement: {replicas: 0}\n")))
                .hasMessageContaining("models[0].placement")
                .hasMessageContaining("at least 1");
        assertThatThrownBy(
                        () ->
                                Manifest.read(
                                        write(base + "    placement: {replicas: 2, hosts: x}\n")))
                .hasMessageContaining("exactly one of");
        assertThatThrownBy(() -> Manifest.read(write(base + "    placement: {slots: some}\n")))
                .hasMessageContaining("slots must be 'all'");
        assertThatThrownBy(() -> Manifest.read(write(base + "    placement: {hosts: 'a('}\n")))
                .hasMessageContaining("not a regular expression");
        assertThatThrownBy(() -> Manifest.read(write(base + "    sha256: abc\n")))
                .hasMessageContaining("sha256");
    }
}
