package io.warmstage.staging;

import io.warmstage.host.HostOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/** Options of the staging operator. */
public final class StagingOptions {
    private StagingOptions() {}

    /** The device each slot stages into. */
    public static final ConfigOption<String> DEVICE =
            ConfigOptions.key("warmstage.staging.device")
                    .stringType()
                    .defaultValue("cpu")
                    .withDescription(
                            "Device of each staging slot: cpu (shared-memory staging files), cuda (the"
                                    + " slot's GPU), cuda:N, or auto (cuda when present, else"
                                    + " cpu).");

    /** Whether tensor checksums are computed from device memory. */
    public static final ConfigOption<Boolean> VERIFY =
            ConfigOptions.key("warmstage.staging.verify")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Read each tensor back from device memory and report its CRC-32C.");

    /** Whether staged files stay in device memory after the job. */
    public static final ConfigOption<Boolean> KEEP_RESIDENT =
            ConfigOptions.key("warmstage.staging.keep-resident")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription(
                            "Keep staged files in device memory after the job ends (in the"
                                    + " TaskManager's JVM) instead of freeing them.");

    /** Where the cpu device keeps its staging files ({@link HostOptions#STAGING_DIR}). */
    public static final ConfigOption<String> STAGING_DIR = HostOptions.STAGING_DIR;

    /** The group that may read the staging area. */
    public static final ConfigOption<String> STAGING_GROUP =
            ConfigOptions.key("warmstage.staging.group")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Group given read access to staging files and the staged set's"
                                    + " registry entries (files 0640, directories 0750), so that"
                                    + " a model server running as another user of the group can"
                                    + " load them. Default: the staging process's own group."
                                    + " Nothing is ever world-readable or world-writable.");

    /** The cap on the staging area's bytes. */
    public static final ConfigOption<MemorySize> STAGING_MAX_SIZE =
            ConfigOptions.key("warmstage.staging.max-size")
                    .memoryType()
                    .noDefaultValue()
                    .withDescription(
                            "Cap on the bytes of a host's staging area (every job's staging"
                                    + " files under warmstage.staging.dir). A file that does not"
                                    + " fit fails with a clear error and its model is reported"
                                    + " failed; nothing is evicted. Default: no cap (the tmpfs's"
                                    + " free space).");
}
