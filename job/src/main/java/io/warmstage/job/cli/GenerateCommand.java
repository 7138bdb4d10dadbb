package io.warmstage.job.cli;

import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LayoutModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code warmstage generate}: writes a synthetic sharded checkpoint for trials and benchmarks. */
@Command(
        name = "generate",
        description = {
            "Write a synthetic sharded checkpoint (safetensors shards + model.safetensors.index.json)"
                    + " into DIR: from a published layout (--layout, e.g."
                    + " ../shared/data/layouts/meta-llama-3-8b.json), scaled down by --scale, or the"
                    + " small Llama-like demo model."
        },
        mixinStandardHelpOptions = true)
public final class GenerateCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "Directory to write into.")
    Path dir;

    @Option(names = "--layout", paramLabel = "FILE", description = "Layout JSON of a real model.")
    Path layout;

    @Option(
            names = "--scale",
            paramLabel = "N",
            description = "Divide each tensor's first dimension by N (default: 1, full size).")
    int scale = 1;

    @Override
    public Integer call() throws Exception {
        Path index =
                layout == null
                        ? DemoModel.write(dir, DemoModel.Dims.small(), 48L << 20)
                        : LayoutModel.write(layout, scale, dir);
        System.out.println(index.toAbsolutePath());
        return 0;
    }
}
