package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class HttpObjectStoreUserInfoTest {

    @Test
    void userInfoLeavesTheRequestLineAndTheRawQueryIsKept() {
        URI u =
                URI.create(
                        "http://ann:p%40ss@127.0.0.1:8080/a%2Fb/m.safetensors?X-Amz-Credential=AK%2F2026&x=1");
        assertThat(HttpObjectStore.withoutUserInfo(u).toString())
                .isEqualTo(
                        "http://127.0.0.1:8080/a%2Fb/m.safetensors?X-Amz-Credential=AK%2F2026&x=1");
        URI plain = URI.create("https://[::1]/m.safetensors");
        assertThat(HttpObjectStore.withoutUserInfo(plain)).isSameAs(plain);
    }
}
