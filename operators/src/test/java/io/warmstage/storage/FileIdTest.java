package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FileIdTest {
    @Test
    void twoVersionsOfOneUriAreDifferentFiles() {
        FileId a = new FileId("s3://b/m.safetensors", new ObjectVersion(10, "\"e1\""));
        FileId b = new FileId("s3://b/m.safetensors", new ObjectVersion(10, "\"e2\""));
        FileId a2 = new FileId("s3://b/m.safetensors", new ObjectVersion(10, "\"e1\""));
        assertThat(a).isNotEqualTo(b).isEqualTo(a2).hasSameHashCodeAs(a2);
        assertThat(a.size()).isEqualTo(10);
        assertThat(a.toString()).isEqualTo("s3://b/m.safetensors (10 bytes, version \"e1\")");
    }

    @Test
    void uriAndVersionAreRequired() {
        assertThatThrownBy(() -> new FileId(null, new ObjectVersion(1, null)))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("uri");
        assertThatThrownBy(() -> new FileId("file:///m", null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("version");
    }
}
