package io.warmstage.job.gpucheck;

import io.warmstage.device.CudaDevice;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The GPU check: writes a multi-GiB BF16 model file, computes each tensor's CRC-32C from the file's
 * bytes on the host, stages the file into a GPU through {@code Warmstage.loadFile} and through the
 * staging operator's record path, reads each tensor's CRC-32C back from device memory, and times
 * the H2D copies beside one plain pinned {@code cuMemcpyHtoD} of the same bytes. Prints one results
 * block.
 *
 * <pre>
 * GpuCheck [--dry-run] [--size-mib N] [--dir DIR] [--device cuda|cuda:N] [--record-mib N] [--keep]
 * </pre>
 *
 * <p>{@code --dry-run} runs everything except CUDA, on the cpu device, with a 64 MiB model unless
 * {@code --size-mib} says otherwise. Exit status: 0 all checksums equal; 1 a checksum differs; 2
 * the device cannot be opened or an argument is wrong (one line on stderr); 3 any other failure.
 */
public final class GpuCheck {
    static final int OK = 0;
    static final int MISMATCH = 1;
    static final int NO_DEVICE = 2;
    static final int FAILED = 3;

    private static final double GIB = 1024.0 * 1024 * 1024;

    private GpuCheck() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the check; returns the exit status. */
    static int run(String[] argv, PrintStream out, PrintStream err) {
        CheckArgs args;
        try {
            args = CheckArgs.parse(argv);
        } catch (IllegalArgumentException e) {
            err.println("gpu-check: " + e.getMessage());
            return NO_DEVICE;
        }
        Device device;
        try {
            device = args.dryRun() ? new HostDevice() : Devices.open(args.device(), 0);
        } catch (DeviceException | IllegalArgumentException e) {
            err.println("gpu-check: " + e.getMessage());
            return NO_DEVICE;
        }
        try (device) {
            return check(args, device, out);
        } catch (Exception e) {
            err.println("gpu-check: failed: " + e);
            e.printStackTrace(err);
            return FAILED;
        }
    }

    private static int check(CheckArgs args, Device device, PrintStream out) throws Exception {
        CudaDevice gpu = device instanceof CudaDevice c ? c : null;
        String memoryBefore = gpu == null ? "n/a (cpu)" : memory(gpu.memory());
        Files.createDirectories(args.dir());
        Path file = args.dir().resolve("gpu-check-model.safetensors");
        try {
            long t0 = System.nanoTime();
            CheckModel.Dims dims = CheckModel.forSize(args.sizeBytes());
            long fileSize = CheckModel.write(file, dims);
            long t1 = System.nanoTime();
            SafetensorsHeader h = HeaderParser.read(file);
            Map<String, Integer> host = HostChecksums.of(file, h);
            long t2 = System.nanoTime();
            CopyPaths.Result load = CopyPaths.loadFile(file, device, host);
            CopyPaths.Result staged = CopyPaths.records(file, h, device, args.recordBytes(), host);
            CopyPaths.Result plain = gpu == null ? null : CopyPaths.plainCopy(file, h, gpu);
            boolean equal = load.mismatches().isEmpty() && staged.mismatches().isEmpty();
            String[] lines = {
                "== warmstage GPU check" + (args.dryRun() ? " (dry run: no CUDA)" : "") + " ==",
                row("device", device.name() + (gpu == null ? "" : " (" + gpu.gpuName() + ")")),
                row("free memory", memoryBefore),
                row(
                        "model",
                        String.format(
                                Locale.ROOT,
                                "%s: %.2f GiB, %d BF16 tensors, %d layers; written in %.1f s",
                                file,
                                fileSize / GIB,
                                h.tensors().size(),
                                dims.layers(),
                                (t1 - t0) / 1e9)),
                row("host CRC-32C", String.format(Locale.ROOT, "%.1f s", (t2 - t1) / 1e9)),
                row("loadFile GB/s", rate(load, "file -> device, end to end")),
                row(
                        "staged GB/s",
                        rate(staged, (args.recordBytes() >> 20) + " MiB records, copy time only")),
                row(
                        "plain copy GB/s",
                        plain == null
                                ? "n/a (dry run)"
                                : rate(plain, "one pinned cuMemcpyHtoD, same bytes")),
                row("checksums equal", equal ? "yes" : "NO"),
                row("mismatched", mismatched(load, staged)),
                row("free memory after", gpu == null ? "n/a (cpu)" : memory(gpu.memory())),
                "== " + (equal ? "PASS" : "FAIL") + " ==",
            };
            for (String line : lines) {
                out.println(line);
            }
            return equal ? OK : MISMATCH;
        } finally {
            if (!args.keep()) {
                Files.deleteIfExists(file);
            }
        }
    }

    private static String row(String name, String value) {
        return String.format(Locale.ROOT, "%-18s: %s", name, value);
    }

    private static String rate(CopyPaths.Result r, String what) {
        return String.format(
                Locale.ROOT,
                "%.2f (%.2f GiB in %.3f s; %s)",
                r.gbPerSecond(),
                r.bytes() / GIB,
                r.nanos() / 1e9,
                what);
    }

    private static String memory(CudaDevice.Memory m) {
        return String.format(
                Locale.ROOT,
                "%.2f GiB free of %.2f GiB",
                m.freeBytes() / GIB,
                m.totalBytes() / GIB);
    }

    private static String mismatched(CopyPaths.Result load, CopyPaths.Result staged) {
        List<String> a = load.mismatches();
        List<String> b = staged.mismatches();
        if (a.isEmpty() && b.isEmpty()) {
            return "none";
        }
        return "loadFile " + first(a) + "; staged " + first(b);
    }

    private static String first(List<String> names) {
        return names.size() + (names.isEmpty() ? "" : " (first: " + names.get(0) + ")");
    }
}
