package io.warmstage.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Parsing one very large safetensors header: Warmstage's {@link HeaderParser#parse} (streaming
 * JSON, every rule of the format checked, tensors sorted and tiling checked) against a plain
 * Jackson {@code ObjectMapper.readTree} of the same bytes (a tree, no checks). One operation is one
 * whole header.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@Warmup(iterations = 3)
@Measurement(iterations = 5)
public class HeaderParseBenchmark {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * Layers of the synthetic model: 483 gives 746,238 tensors in 98,973,920 JSON bytes, the most
     * whole layers under the format's cap of 100,000,000 header bytes.
     */
    @Param("483")
    public int layers;

    private byte[] json;
    private long fileSize;

    /** Builds the header once per fork and checks that the parser accepts it. */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        long t0 = System.nanoTime();
        SyntheticHeader.Header h = SyntheticHeader.build(layers);
        json = h.json();
        fileSize = h.fileSize();
        SafetensorsHeader parsed = HeaderParser.parse(json, fileSize, "synthetic");
        if (parsed.tensors().size() != h.tensors()) {
            throw new IllegalStateException("parsed " + parsed.tensors().size() + " tensors");
        }
        System.out.printf(
                "%nheader: %d tensors, %d JSON bytes, file size %d (set up in %.1f s)%n",
                h.tensors(), json.length, fileSize, (System.nanoTime() - t0) / 1e9);
    }

    /** Warmstage's parser: the validated header. */
    @Benchmark
    public SafetensorsHeader headerParser() throws Exception {
        return HeaderParser.parse(json, fileSize, "synthetic");
    }

    /** Jackson's tree of the same bytes, nothing checked. */
    @Benchmark
    public JsonNode jacksonReadTree() throws Exception {
        return MAPPER.readTree(json);
    }
}
