package io.warmstage.api;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostDevice;
import io.warmstage.format.SafetensorsException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;

/**
 * Warmstage's engine as a plain Java call, without Flink: load one safetensors file into device
 * memory, like {@code safetensors.torch.load_file(path, device)}.
 *
 * <pre>{@code
 * Warmstage.setLocalCacheDir(Path.of("/var/cache/warmstage"));   // optional; off by default
 * Warmstage.setStagingDir(Path.of("/dev/shm/warmstage"));        // the staged set (the default)
 * try (Device gpu = Devices.open("cuda:0", 0)) {
 *     Map<String, Tensor> weights = Warmstage.loadFile("https://host/model.safetensors", gpu);
 *     Tensor w = weights.get("lm_head.weight");
 *     ...
 *     Warmstage.release(weights);
 * }
 * }</pre>
 */
public final class Warmstage {
    private static volatile Path localCacheDir;
    private static volatile Path stagingDir = HostDevice.DEFAULT_ROOT;

    private Warmstage() {}

    /**
     * Sets the host-local cache directory, or {@code null} to turn the cache off (the default).
     * With a cache, a file's verified copy is written there on the first load and later loads of
     * the same version read local disk.
     */
    public static void setLocalCacheDir(Path dir) {
        localCacheDir = dir;
    }

    /**
     * Sets the host's staging area whose staged set {@link #loadFile} looks in first (the {@code
     * warmstage.staging.dir} of the staging job; default {@link HostDevice#DEFAULT_ROOT}, that is
     * {@code /dev/shm/warmstage}), or {@code null} to always read the origin.
     */
    public static void setStagingDir(Path dir) {
        stagingDir = dir;
    }

    /** The staging area looked in first, or null. */
    public static Path stagingDir() {
        return stagingDir;
    }

    /** The cache directory, or null when the cache is off. */
    public static Path localCacheDir() {
        return localCacheDir;
    }

    /**
     * Loads every tensor of one safetensors file into {@code device}, with the storage options'
     * defaults.
     *
     * <p>The host's staged set ({@link #setStagingDir}) is looked in first: when a staging job
     * published the file there, nothing is read from the origin. For the {@code cpu} device the
     * tensors are then a mapping of the staging file (zero copy, {@link Tensor#hostView}); other
     * devices copy from it. Every tensor is checked against the entry's CRC-32C first; a staged
     * copy that fails a check is not used. The staged copy is the version the staging job pinned (a
     * refreshing job keeps it current); it is not compared with the origin.
     *
     * @param uri {@code file://}, a plain path, or {@code http(s)://}
     * @return tensors by name, in data-offset order; they share one device buffer per file
     * @throws SafetensorsException if the file breaks a format rule (nothing is allocated)
     * @throws IOException if a read fails after its retries, or the object changed
     * @throws DeviceException if the file's data does not fit on the device
     */
    public static Map<String, Tensor> loadFile(String uri, Device device)
            throws IOException, SafetensorsException, DeviceException {
        return loadFile(uri, device, new Configuration());
    }

    /**
     * As {@link #loadFile(String, Device)}, with storage and source options from {@code config}
     * ({@code warmstage.storage.*}, {@code warmstage.source.split-size}, {@code
     * warmstage.source.reads-in-flight}).
     */
    public static Map<String, Tensor> loadFile(String uri, Device device, Configuration config)
            throws IOException, SafetensorsException, DeviceException {
        Path staged = stagingDir;
        if (staged != null) {
            Optional<Map<String, Tensor>> hit = StagedLookup.load(staged, uri, device, config);
            if (hit.isPresent()) {
                return hit.get();
            }
        }
        try (FileLoader loader = new FileLoader(config, localCacheDir)) {
            return loader.load(uri, device);
        }
    }

    /** Frees the device memory behind {@code tensors} (each distinct buffer once). */
    public static void release(Map<String, Tensor> tensors) {
        Map<DeviceBuffer, Boolean> seen = new IdentityHashMap<>();
        for (Tensor t : tensors.values()) {
            if (seen.put(t.buffer(), Boolean.TRUE) == null) {
                t.buffer().close();
            }
        }
    }
}
