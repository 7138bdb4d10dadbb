package io.warmstage.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.warmstage.format.TensorInfo;
import io.warmstage.plan.FilePlan;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ModelSpec;
import io.warmstage.storage.ObjectStores;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code warmstage inspect}: prints a file's or sharded checkpoint's header. */
@Command(
        name = "inspect",
        description = {
            "Print the header of a safetensors file, or of every shard of an index.json: tensors,"
                    + " dtypes, shapes, byte sizes, metadata.",
            "Exit status: 0 valid, 1 invalid (with the reason), 2 usage error."
        },
        mixinStandardHelpOptions = true)
public final class InspectCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(paramLabel = "URI", description = "A .safetensors file or an index.json.")
    String uri;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Configuration conf = new Configuration();
        List<FilePlan> files;
        try (ObjectStores stores = ObjectStores.create(conf)) {
            ModelPlanner planner = new ModelPlanner(stores, stores.retryPolicy(), null, 65536);
            files = planner.plan(new ModelSpec(uri, uri));
        }
        for (FilePlan f : files) {
            if (f.isFailure()) {
                System.err.println("invalid: " + f.error());
                return 1;
            }
        }
        if (json) {
            System.out.println(
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(files)));
        } else {
            files.forEach(InspectCommand::printTable);
        }
        return 0;
    }

    private static void printTable(FilePlan f) {
        var h = f.header();
        System.out.printf(
                Locale.ROOT,
                "%s%n  %d bytes, header %d bytes, %d tensors, version %s%n",
                f.uri(),
                f.version().size(),
                h.headerLength(),
                h.tensors().size(),
                f.version().etag());
        h.metadata().forEach((k, v) -> System.out.println("  metadata " + k + " = " + v));
        System.out.printf(
                Locale.ROOT,
                "  %-48s %-12s %-20s %12s  %s%n",
                "tensor",
                "dtype",
                "shape",
                "bytes",
                "data_offsets");
        for (TensorInfo t : h.tensors()) {
            System.out.printf(
                    Locale.ROOT,
                    "  %-48s %-12s %-20s %12d  [%d, %d)%n",
                    t.name(),
                    t.dtype().name(),
                    Arrays.toString(t.shape()),
                    t.byteSize(),
                    t.begin(),
                    t.end());
        }
    }

    private static ArrayNode toJson(List<FilePlan> files) {
        ArrayNode out = JSON.createArrayNode();
        for (FilePlan f : files) {
            ObjectNode n = out.addObject();
            n.put("uri", f.uri());
            n.put("bytes", f.version().size());
            n.put("version", f.version().etag());
            n.put("headerLength", f.header().headerLength());
            ObjectNode meta = n.putObject("metadata");
            f.header().metadata().forEach(meta::put);
            ArrayNode tensors = n.putArray("tensors");
            for (TensorInfo t : f.header().tensors()) {
                ObjectNode tn = tensors.addObject();
                tn.put("name", t.name());
                tn.put("dtype", t.dtype().name());
                ArrayNode shape = tn.putArray("shape");
                Arrays.stream(t.shape()).forEach(shape::add);
                tn.put("bytes", t.byteSize());
                tn.putArray("data_offsets").add(t.begin()).add(t.end());
            }
        }
        return out;
    }
}
