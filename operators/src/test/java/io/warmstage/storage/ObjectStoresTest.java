package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** {@link ObjectStores}, {@link StorageOptions} and {@link ObjectStores#toUri}. */
class ObjectStoresTest {

    @Test
    void plainAbsolutePathBecomesAFileUri() {
        assertThat(ObjectStores.toUri("/models/a.safetensors"))
                .isEqualTo(URI.create("file:///models/a.safetensors"));
    }

    @Test
    void relativePathIsMadeAbsolute() {
        URI uri = ObjectStores.toUri("models/a.safetensors");

        assertThat(uri.getScheme()).isEqualTo("file");
        assertThat(Path.of(uri)).isEqualTo(Path.of("models/a.safetensors").toAbsolutePath());
    }

    @Test
    void acceptedSchemesPassThrough() {
        assertThat(ObjectStores.toUri("https://h.example/m.safetensors?sig=1"))
                .isEqualTo(URI.create("https://h.example/m.safetensors?sig=1"));
        assertThat(ObjectStores.toUri("s3://bucket/key").getScheme()).isEqualTo("s3");
    }

    @Test
    void otherSchemeIsRefusedNamingTheAcceptedOnes() {
        assertThatThrownBy(() -> ObjectStores.toUri("ftp://h.example/m.safetensors"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'ftp'")
                .hasMessageContaining("file, gs, http, https, s3");
    }

    @Test
    void storesAreChosenBySchemeAndCached() throws Exception {
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            ObjectStore file = stores.forUri(URI.create("file:///x"));
            ObjectStore http = stores.forUri(URI.create("http://h/x"));

            assertThat(file).isInstanceOf(LocalFileStore.class);
            assertThat(stores.forUri(URI.create("/plain/path"))).isSameAs(file);
            assertThat(http).isInstanceOf(HttpObjectStore.class);
            assertThat(stores.forUri(URI.create("https://h/y"))).isSameAs(http);
        }
    }

    @Test
    void schemeWithoutStoreIsRefusedNamingTheAcceptedOnes() throws Exception {
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            assertThatThrownBy(() -> stores.forUri(URI.create("ftp://h/key")))
                    .isInstanceOfSatisfying(
                            StorageException.class, e -> assertThat(e.retryable()).isFalse())
                    .hasMessage("no store for scheme 'ftp'; accepted: file, gs, http, https, s3");
        }
    }

    @Test
    void closedStoresRefuseNewLookups() throws Exception {
        ObjectStores stores = ObjectStores.create(new Configuration());
        stores.close();

        assertThatThrownBy(() -> stores.forUri(URI.create("file:///x")))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void retryPolicyComesFromConfiguration() {
        Configuration conf = new Configuration();
        conf.set(StorageOptions.RETRY_MAX_ATTEMPTS, 3);
        conf.set(StorageOptions.RETRY_INITIAL_BACKOFF, Duration.ofMillis(5));
        conf.set(StorageOptions.RETRY_MAX_BACKOFF, Duration.ofMillis(50));
        conf.set(StorageOptions.RETRY_BUDGET, Duration.ofSeconds(7));

        try (ObjectStores stores = ObjectStores.create(conf)) {
            assertThat(stores.retryPolicy())
                    .isEqualTo(
                            new RetryPolicy(
                                    3,
                                    Duration.ofMillis(5),
                                    Duration.ofMillis(50),
                                    Duration.ofSeconds(7)));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        assertThat(StorageOptions.retryPolicy(new Configuration()))
                .isEqualTo(RetryPolicy.defaults());
    }

    @Test
    void bearerTokenFallsBackToTheEnvironmentAndConfigurationWins() throws Exception {
        try (RangeServer server = new RangeServer()) {
            server.handler.put("/m", new byte[] {1, 2, 3});
            URI uri = server.uri("/m");
            Map<String, String> env = Map.of(StorageOptions.BEARER_TOKEN_ENV, "from-env");
            try (ObjectStores stores = ObjectStores.create(new Configuration(), env::get)) {
                stores.forUri(uri).stat(uri);
            }
            Configuration conf = new Configuration();
            conf.set(StorageOptions.HTTP_BEARER_TOKEN, "from-conf");
            try (ObjectStores stores = ObjectStores.create(conf, env::get)) {
                stores.forUri(uri).stat(uri);
            }
            try (ObjectStores stores = ObjectStores.create(new Configuration(), k -> null)) {
                stores.forUri(uri).stat(uri);
            }

            assertThat(server.handler.requests())
                    .extracting(FaultyRangeHandler.Seen::authorization)
                    .containsExactly("Bearer from-env", "Bearer from-conf", null);
        }
    }
}
