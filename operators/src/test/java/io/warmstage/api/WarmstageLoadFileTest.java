package io.warmstage.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.cache.LocalCache;
import io.warmstage.device.HostDevice;
import io.warmstage.format.SafetensorsException;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.ReferenceReader;
import io.warmstage.testing.SharedData;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WarmstageLoadFileTest {
    @TempDir Path cacheDir;

    @AfterEach
    void cacheOff() {
        Warmstage.setLocalCacheDir(null);
    }

    /** Small ranges so that every file is read in several pieces. */
    private static Configuration smallRanges() {
        Configuration c = new Configuration();
        c.set(WeightSourceOptions.SPLIT_SIZE, MemorySize.parse("7kb"));
        return c;
    }

    @Test
    void everyRealFileLoadsWithTheOriginsBytes() throws Exception {
        try (HostDevice cpu = new HostDevice()) {
            for (Path p : SharedData.validFiles()) {
                Map<String, Tensor> tensors = Warmstage.loadFile(p.toString(), cpu, smallRanges());
                Map<String, byte[]> expected = ReferenceReader.tensors(p);
                assertThat(tensors.keySet()).as(p.toString()).isEqualTo(expected.keySet());
                for (Tensor t : tensors.values()) {
                    ByteBuffer host = t.toHost();
                    byte[] got = new byte[host.remaining()];
                    host.get(got);
                    assertThat(got)
                            .as("%s %s", p.getFileName(), t.name())
                            .isEqualTo(expected.get(t.name()));
                    ByteBuffer mapped = t.hostView().orElseThrow();
                    byte[] viewed = new byte[mapped.remaining()];
                    mapped.get(viewed);
                    assertThat(viewed).as("mapping of %s", t.name()).isEqualTo(got);
                }
                Warmstage.release(tensors);
            }
            assertThat(cpu.openBuffers()).isZero();
        }
    }

    @Test
    void scalarShapeAndDtypeComeFromTheHeader() throws Exception {
        Path burn =
                SharedData.real()
                        .resolve(
                                "tracel-ai_burn__crates__burn-import__safetensors-tests__tests__batch_norm__batch_norm2d.safetensors");
        try (HostDevice cpu = new HostDevice()) {
            Tensor t = Warmstage.loadFile(burn.toString(), cpu).get("norm1.num_batches_tracked");
            assertThat(t.shape()).isEmpty();
            assertThat(t.dtype().name()).isEqualTo("I64");
            assertThat(t.byteSize()).isEqualTo(8);
        }
    }

    @Test
    void malformedFilesFailWithTheirRuleAndAllocateNothing() throws Exception {
        try (HostDevice cpu = new HostDevice()) {
            for (Path bad : SharedData.malformedFiles()) {
                assertThatThrownBy(() -> Warmstage.loadFile(bad.toString(), cpu))
                        .isInstanceOf(SafetensorsException.class)
                        .hasMessageContaining(bad.getFileName().toString());
            }
            assertThat(cpu.allocatedBytes()).isZero();
        }
    }

    @Test
    void withACacheTheSecondLoadReadsLocalDiskAndOnlyStatsTheOrigin() throws Exception {
        Path peft =
                SharedData.real()
                        .resolve(
                                "anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");
        AtomicLong gets = new AtomicLong();
        Server server = origin(SharedData.real(), gets);
        try (HostDevice cpu = new HostDevice()) {
            int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
            String uri = "http://127.0.0.1:" + port + "/" + peft.getFileName();
            Warmstage.setLocalCacheDir(cacheDir);

            Map<String, Tensor> first = Warmstage.loadFile(uri, cpu, smallRanges());
            long firstGets = gets.get();
            assertThat(firstGets).isGreaterThan(1);
            LocalCache cache = new LocalCache(cacheDir);
            ObjectVersion v = new ObjectVersion(Files.size(peft), etag(uri));
            Path entry = cache.lookup(URI.create(uri), v).orElseThrow();
            assertThat(Files.readAllBytes(entry)).isEqualTo(Files.readAllBytes(peft));

            Map<String, Tensor> second = Warmstage.loadFile(uri, cpu, smallRanges());
            assertThat(gets.get()).as("GETs after the cached load").isEqualTo(firstGets);
            for (String name : first.keySet()) {
                assertThat(second.get(name).crc32c()).isEqualTo(first.get(name).crc32c());
            }
        } finally {
            server.stop();
        }
    }

    private static String etag(String uri) throws Exception {
        try (ObjectStores stores = ObjectStores.create(new Configuration())) {
            URI u = URI.create(uri);
            return stores.forUri(u).stat(u).etag();
        }
    }

    private static Server origin(Path dir, AtomicLong gets) throws Exception {
        Server server = new Server();
        ServerConnector c = new ServerConnector(server);
        c.setHost("127.0.0.1");
        server.addConnector(c);
        ResourceHandler files = new ResourceHandler();
        files.setBaseResource(ResourceFactory.of(server).newResource(dir.toUri()));
        files.getResourceService().setEtags(true);
        server.setHandler(
                new Handler.Wrapper(files) {
                    @Override
                    public boolean handle(Request req, Response resp, Callback cb)
                            throws Exception {
                        if ("GET".equals(req.getMethod())) {
                            gets.incrementAndGet();
                        }
                        return super.handle(req, resp, cb);
                    }
                });
        server.start();
        return server;
    }
}
