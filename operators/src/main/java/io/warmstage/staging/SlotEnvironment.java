package io.warmstage.staging;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import io.warmstage.device.HostDevice;
import io.warmstage.device.SlotGpu;
import io.warmstage.device.StagingArea;
import io.warmstage.host.HostDirs;
import io.warmstage.host.HostIdentity;
import io.warmstage.registry.StagedSet;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;

/**
 * Where a staging slot runs: its index, host and job, its host's cache directory and staging area
 * (with the staged set's registry), and its opened device. Opening sweeps dead jobs' staging files;
 * closing frees or keeps the device's memory and sweeps this job's orphans.
 */
final class SlotEnvironment {
    /** Opens a slot's device ({@link Devices#openForSlot}, or a test's substitute). */
    interface DeviceOpener {
        Device open(String spec, Devices.SlotGpuSource slotGpu) throws DeviceException;
    }

    /** A host's directories: its cache directory ("" when none is configured) and staging area. */
    record HostDirectories(String cacheDir, StagingArea stagingArea) {}

    final int slot;
    final String host;
    final String jobId;
    final String cacheDir;
    final StagedSet stagedSet;
    final Device device;
    final StagingSweeper sweeper;

    private SlotEnvironment(
            int slot,
            String host,
            String jobId,
            HostDirectories dirs,
            DeviceOpener opener,
            RuntimeContext rc,
            Configuration config)
            throws DeviceException {
        this.slot = slot;
        this.host = host;
        this.jobId = jobId;
        this.cacheDir = dirs.cacheDir();
        StagingArea area = dirs.stagingArea();
        this.stagedSet = new StagedSet(area);
        this.sweeper = new StagingSweeper(slot, stagedSet);
        var gpus = rc.getExternalResourceInfos("gpu");
        String spec = config.get(StagingOptions.DEVICE).trim();
        boolean cpu =
                spec.equals("cpu")
                        || (spec.equals("auto") && !Devices.cudaAvailability().available());
        this.device =
                cpu
                        ? new HostDevice(stagingDir(area), area)
                        : opener.open(spec, () -> SlotGpu.forSlot(gpus, slot, config));
    }

    /**
     * Opens the slot of the running subtask: its device, and, for the cpu device, sweeps the
     * staging files of dead jobs on this host.
     *
     * @throws DeviceException if the device cannot be opened
     */
    static SlotEnvironment open(Configuration config, RuntimeContext rc, DeviceOpener opener)
            throws DeviceException {
        int slot = rc.getTaskInfo().getIndexOfThisSubtask();
        HostIdentity hostId = HostIdentity.of(rc.getMetricGroup().getAllVariables(), config);
        String jobId = rc.getJobInfo().getJobId().toString();
        var env =
                new SlotEnvironment(
                        slot,
                        hostId.name(),
                        jobId,
                        hostDirectories(hostId, config),
                        opener,
                        rc,
                        config);
        if (env.device instanceof HostDevice hd) {
            Path jobDir = hd.directory().getParent();
            env.sweeper.sweepDeadJobs(jobDir.getParent(), jobDir);
        }
        return env;
    }

    /**
     * The host's directories, as {@link HostDirs} resolves them: the cache directory {@code <cache
     * dir>[/<simulated host>]} when one is configured, and the staging area {@code <staging
     * dir>[/<simulated host>]} with the configured group and cap, which holds the staged set's
     * registry and, for the cpu device, the staging files.
     */
    static HostDirectories hostDirectories(HostIdentity hostId, Configuration config) {
        String cacheDir = HostDirs.cacheDir(config, hostId).map(Path::toString).orElse("");
        StagingArea area =
                new StagingArea(
                        HostDirs.stagingRoot(config, hostId),
                        config.getOptional(StagingOptions.STAGING_GROUP).orElse(null),
                        config.getOptional(StagingOptions.STAGING_MAX_SIZE)
                                .map(MemorySize::getBytes)
                                .orElse(Long.MAX_VALUE));
        return new HostDirectories(cacheDir, area);
    }

    /**
     * Closes the device. With keep-resident its memory stays (the claim on a GPU is dropped, a cpu
     * job's directory is marked kept); otherwise it is freed, and, when the job {@code ended}
     * (nothing will adopt kept files), kept files are discarded and this job's orphans swept.
     */
    void close(boolean keepResident, boolean ended) {
        if (keepResident) {
            Devices.releaseClaim(device); // memory stays; the GPU may be claimed again
            if (device instanceof HostDevice hd) {
                StagingSweeper.markKept(hd.directory().getParent());
            }
            return;
        }
        device.close();
        if (device instanceof HostDevice hd) {
            if (ended) {
                hd.discardKept();
                sweeper.sweepOrphans(hd.directory());
            }
            StagingSweeper.deleteIfEmpty(hd.directory());
            StagingSweeper.deleteIfEmpty(hd.directory().getParent()); // the job's directory
        }
    }

    /**
     * This slot's staging directory for the cpu device: {@code <area>/job-<job id>/slot-<n>}, so
     * that jobs and slots never touch each other's files.
     */
    private Path stagingDir(StagingArea area) {
        return area.root().resolve("job-" + jobId).resolve("slot-" + slot);
    }
}
