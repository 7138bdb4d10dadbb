package io.warmstage.staging;

import io.warmstage.device.DeviceException;
import io.warmstage.device.HostBuffer;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedGpu;
import io.warmstage.registry.StagedTensor;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Lists a slot's complete files in its host's staged set ({@link io.warmstage.registry.StagedSet}),
 * where model servers on the host find them.
 */
final class StagedSetPublisher {
    private final SlotEnvironment env;

    StagedSetPublisher(SlotEnvironment env) {
        this.env = env;
    }

    /**
     * Publishes a complete file's entry, after every tensor is verified: each tensor with its
     * CRC-32C, and where the bytes are (the staging file, or the GPU and an IPC handle). A file on
     * a device that gives no handle is not listed: no other process could open it.
     *
     * @return the entry's path, or null when not listed
     * @throws DeviceException if the entry cannot be written (the file then fails)
     */
    Path publish(StagingFile f) throws DeviceException {
        List<StagedTensor> tensors = new ArrayList<>();
        for (StagingFile.Done d : f.allTensors()) {
            TensorInfo t = d.tensor();
            List<Long> shape = Arrays.stream(t.shape()).boxed().toList();
            tensors.add(
                    new StagedTensor(
                            t.name(),
                            t.dtype().name(),
                            shape,
                            List.of(t.begin(), t.end()),
                            StagingEvent.hex(d.crc32c())));
        }
        String file = f.data instanceof HostBuffer hb ? hb.path().toString() : null;
        StagedGpu gpu = null;
        if (file == null) {
            var handle = f.data.ipcHandle();
            if (handle.isEmpty()) {
                return null;
            }
            gpu =
                    new StagedGpu(
                            ordinal(env.device.name()),
                            env.device.gpuUuid().orElse(null),
                            HexFormat.of().formatHex(handle.get()));
        }
        StagedEntry e =
                new StagedEntry(
                        StagedEntry.FORMAT,
                        Redaction.stagedUri(f.uriObject),
                        f.fileSize,
                        f.version.etag(),
                        f.model,
                        env.host,
                        env.jobId,
                        env.slot,
                        env.device.name(),
                        ProcessHandle.current().pid(),
                        Instant.now().toString(),
                        file,
                        f.headerEnd,
                        gpu,
                        tensors);
        try {
            return env.stagedSet.publish(e);
        } catch (IOException | RuntimeException ex) {
            throw new DeviceException(
                    f.uri
                            + ": cannot publish its entry in the staged set "
                            + env.stagedSet.directory()
                            + ": "
                            + ex,
                    ex);
        }
    }

    /** The ordinal of a device named {@code cuda:N}, else 0. */
    private static int ordinal(String deviceName) {
        int colon = deviceName.indexOf(':');
        return colon < 0 ? 0 : Integer.parseInt(deviceName.substring(colon + 1));
    }
}
