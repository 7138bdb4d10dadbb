package io.warmstage.device;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;

/**
 * Which GPU one staging slot (one subtask) uses, by these rules, first match wins:
 *
 * <ol>
 *   <li><b>External resources</b> (a real cluster with Flink's GPU plugin): the TaskManager's GPUs
 *       from {@code getExternalResourceInfos("gpu")}, each with an {@code index} property, sorted
 *       by index. The slot prefers the one at {@code subtask % n}.
 *   <li><b>Configuration</b> ({@link GpuOptions#GPU_ORDINALS}, e.g. {@code 0,1,2,3}): the slot
 *       prefers {@code ordinals[subtask % n]}.
 *   <li><b>Default</b>: the slot prefers GPU {@code subtask % deviceCount}.
 * </ol>
 *
 * <p>Subtask indexes are global while GPUs are per host, so two slots of one host can prefer the
 * same GPU: each falls back to the next one of its list (wrapping; for the default, every GPU of
 * the host) that nobody holds. {@code cuda:N} means GPU N and nothing else. {@link GpuClaims} holds
 * the claims; two slots share a GPU only when {@link GpuOptions#GPU_SHARED} is true.
 */
public final class SlotGpu {
    /** The property Flink's GPU plugin gives each GPU: its index as {@code nvidia-smi} shows it. */
    public static final String INDEX_PROPERTY = "index";

    private final int subtask;
    private final List<Integer> resourceOrdinals;
    private final List<Integer> configuredOrdinals;
    private final boolean shared;
    private final boolean explicit;

    private SlotGpu(
            int subtask,
            List<Integer> resourceOrdinals,
            List<Integer> configuredOrdinals,
            boolean shared,
            boolean explicit) {
        if (subtask < 0) {
            throw new IllegalArgumentException("negative subtask index " + subtask);
        }
        this.subtask = subtask;
        this.resourceOrdinals = resourceOrdinals.stream().sorted().distinct().toList();
        this.configuredOrdinals = List.copyOf(configuredOrdinals);
        this.shared = shared;
        this.explicit = explicit;
    }

    /**
     * The rule for subtask {@code subtask}, from what {@code
     * getRuntimeContext().getExternalResourceInfos("gpu")} returned and the job's configuration.
     *
     * @param gpus the TaskManager's GPUs; empty on a MiniCluster or without the GPU plugin
     * @param subtask {@code getTaskInfo().getIndexOfThisSubtask()}, 0 or more
     * @throws DeviceException if a GPU lacks a numeric {@code index} property, or {@link
     *     GpuOptions#GPU_ORDINALS} is not a list of ordinals
     */
    public static SlotGpu forSlot(
            Collection<? extends ExternalResourceInfo> gpus, int subtask, Configuration config)
            throws DeviceException {
        List<Integer> fromResources = new ArrayList<>();
        for (ExternalResourceInfo gpu : gpus) {
            fromResources.add(indexOf(gpu));
        }
        List<Integer> configured =
                parseOrdinals(config.getOptional(GpuOptions.GPU_ORDINALS).orElse(""));
        return new SlotGpu(
                subtask, fromResources, configured, config.get(GpuOptions.GPU_SHARED), false);
    }

    /** As {@link #forSlot}, with the inputs already parsed (tests, the GPU check). */
    public static SlotGpu of(
            int subtask,
            List<Integer> resourceOrdinals,
            List<Integer> configuredOrdinals,
            boolean shared) {
        return new SlotGpu(subtask, resourceOrdinals, configuredOrdinals, shared, false);
    }

    /** An explicit {@code cuda:N}: GPU {@code ordinal} and no other. */
    static SlotGpu explicit(int subtask, int ordinal, boolean shared) {
        return new SlotGpu(subtask, List.of(), List.of(ordinal), shared, true);
    }

    /** The subtask index. */
    public int subtask() {
        return subtask;
    }

    /** Whether this slot may use a GPU another slot of this JVM already holds. */
    public boolean shared() {
        return shared;
    }

    /**
     * The GPUs this slot may use, best first: the preferred one, then the rest of its list from
     * there, wrapping (for the default, every GPU of the host); for {@code cuda:N} only N.
     *
     * @param deviceCount GPUs the CUDA driver reports, 1 or more
     */
    public List<Integer> candidates(int deviceCount) {
        if (explicit) {
            return List.of(configuredOrdinals.get(0));
        }
        if (!resourceOrdinals.isEmpty()) {
            return rotated(resourceOrdinals);
        }
        if (!configuredOrdinals.isEmpty()) {
            return rotated(configuredOrdinals);
        }
        List<Integer> all = new ArrayList<>(deviceCount);
        for (int i = 0; i < deviceCount; i++) {
            all.add(i);
        }
        return rotated(all);
    }

    /** {@code list} from position {@code subtask % size}, wrapping, each ordinal once. */
    private List<Integer> rotated(List<Integer> list) {
        int n = list.size();
        List<Integer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Integer ordinal = list.get((subtask + i) % n);
            if (!out.contains(ordinal)) {
                out.add(ordinal);
            }
        }
        return out;
    }

    /** Where the candidates come from, for error messages. */
    public String source() {
        if (explicit) {
            return "cuda:" + configuredOrdinals.get(0);
        }
        if (!resourceOrdinals.isEmpty()) {
            return "the TaskManager's 'gpu' external resources " + resourceOrdinals;
        }
        if (!configuredOrdinals.isEmpty()) {
            return GpuOptions.GPU_ORDINALS.key() + " " + configuredOrdinals;
        }
        return "subtask index % GPU count";
    }

    /**
     * Parses {@code "0,1,2,3"} (also {@code ;} or spaces as separators, and {@code [0, 1]} as Flink
     * writes a YAML list) into ordinals; blank gives an empty list.
     *
     * @throws DeviceException if an element is not an integer 0 or more
     */
    /**
     * Checks {@link GpuOptions#GPU_ORDINALS} in {@code config}, if set.
     *
     * @throws DeviceException naming the option when it is not a list of GPU ordinals
     */
    public static void checkOrdinals(org.apache.flink.configuration.Configuration config)
            throws DeviceException {
        parseOrdinals(config.getOptional(GpuOptions.GPU_ORDINALS).orElse(""));
    }

    static List<Integer> parseOrdinals(String text) throws DeviceException {
        String s = text.strip();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1).strip();
        }
        List<Integer> out = new ArrayList<>();
        if (s.isEmpty()) {
            return out;
        }
        for (String part : s.split("[,;\\s]+")) {
            out.add(ordinal(part, GpuOptions.GPU_ORDINALS.key() + " '" + text + "'"));
        }
        return out;
    }

    private static int indexOf(ExternalResourceInfo gpu) throws DeviceException {
        Optional<String> index = gpu.getProperty(INDEX_PROPERTY);
        if (index.isEmpty()) {
            throw new DeviceException(
                    "GPU external resource has no '"
                            + INDEX_PROPERTY
                            + "' property (keys "
                            + gpu.getKeys()
                            + "): is the TaskManager's GPU plugin Flink's GPUDriverFactory?");
        }
        return ordinal(index.get(), "GPU external resource index");
    }

    private static int ordinal(String text, String what) throws DeviceException {
        try {
            int n = Integer.parseInt(text.strip());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new DeviceException(
                "bad GPU ordinal '" + text + "' in " + what + ": expected an integer 0 or more");
    }
}
