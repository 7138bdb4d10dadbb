package io.warmstage.device;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Options that map staging slots to GPUs (see {@link SlotGpu} and docs/GPU.md). */
public final class GpuOptions {
    private GpuOptions() {}

    /** Explicit slot-to-GPU mapping, used when the TaskManager exposes no GPU resources. */
    public static final ConfigOption<String> GPU_ORDINALS =
            ConfigOptions.key("warmstage.staging.gpu-ordinals")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "CUDA ordinals for staging slots, e.g. \"0,1,2,3\": subtask i uses"
                                    + " ordinals[i % n]. Used only when the TaskManager exposes"
                                    + " no 'gpu' external resource (a MiniCluster never does)."
                                    + " Unset: subtask index modulo the host's GPU count.");

    /** Whether two slots of one TaskManager may stage into the same GPU. */
    public static final ConfigOption<Boolean> GPU_SHARED =
            ConfigOptions.key("warmstage.staging.gpu-shared")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription(
                            "Allow two staging slots in one TaskManager to use the same GPU."
                                    + " Off: a second slot that maps to a GPU already in use"
                                    + " fails to open with a message naming both slots.");
}
