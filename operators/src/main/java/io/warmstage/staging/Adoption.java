package io.warmstage.staging;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.storage.Redaction;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a restore on the cpu device: takes over the staging files this host kept for the slot
 * ({@link KeptFiles}) instead of staging their bytes again: published files the checkpoint records
 * as staged, and the data sections of files it records as partly staged.
 */
final class Adoption {
    private static final Logger LOG = LoggerFactory.getLogger(Adoption.class);

    private final SlotEnvironment env;
    private final SlotResidents residents;
    private final StagingMetrics metrics;

    Adoption(SlotEnvironment env, SlotResidents residents, StagingMetrics metrics) {
        this.env = env;
        this.residents = residents;
        this.metrics = metrics;
    }

    /**
     * Takes over the published staging file of a file the checkpoint records as staged, when it is
     * still on this host with its staged-set entry and every tensor's CRC-32C matches the entry, so
     * that it stays listed and is freed at the job's end. A file that does not match is withdrawn
     * and deleted.
     */
    void adoptStaged(FileKey key) {
        Device device = env.device;
        if (!(device instanceof HostDevice hd) || ResidentSet.get(env.slot, key.uri()) != null) {
            return; // not a staging file, or still resident in this JVM
        }
        long size = key.file().size();
        String etag = key.file().version().etag();
        String recorded = Redaction.stagedUri(URI.create(key.uri()));
        var entryPath =
                env.stagedSet.entryOf(recorded, size, etag, env.jobId, env.slot, device.name());
        var entry = entryPath.flatMap(StagedSet::readEntry);
        if (entry.isEmpty()) {
            return;
        }
        StagedEntry e = entry.get();
        ResidentSet.Entry adopted = null;
        try {
            var buffer =
                    hd.adoptPublished(
                            KeptFiles.stagingName(key.file()),
                            e.dataStart(),
                            e.size() - e.dataStart());
            if (buffer.isEmpty()) {
                StagedSet.withdraw(entryPath.get());
                return;
            }
            var header = HeaderParser.read(buffer.get().path());
            adopted =
                    new ResidentSet.Entry(
                            env.slot,
                            key.model(),
                            key.uri(),
                            header,
                            buffer.get(),
                            entryPath.get());
            if (!matches(header, e, buffer.get())) {
                throw new DeviceException("its bytes do not match its staged-set entry");
            }
        } catch (Exception ex) {
            LOG.warn(
                    "slot {}: staged file of {} not adopted: {}",
                    env.slot,
                    recorded,
                    ex.toString());
            if (adopted != null) {
                adopted.free();
            }
            return;
        }
        residents.add(adopted);
        LOG.info("slot {}: adopted staged file of {} ({} bytes)", env.slot, recorded, size);
    }

    /**
     * The kept staging file of a file partly staged before the restore, opened for the rest of its
     * data section ({@code dataSize} bytes from {@code headerEnd}); empty when there is none.
     */
    Optional<HostBuffer> adoptPartial(String name, long headerEnd, long dataSize)
            throws DeviceException {
        return env.device instanceof HostDevice hd
                ? hd.adoptFile(name, headerEnd, dataSize)
                : Optional.empty();
    }

    /**
     * Marks the data-section parts of a checkpoint's staged ranges as staged in {@code f}, whose
     * adopted staging file holds them; returns the header parts, which live on the heap until the
     * file is published and are read again.
     */
    long[] adoptDataRanges(StagingFile f, long[] ranges) {
        List<Long> header = new ArrayList<>();
        long adopted = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            long from = ranges[i];
            long to = ranges[i + 1];
            if (from < f.headerEnd) {
                header.add(from);
                header.add(Math.min(to, f.headerEnd));
            }
            if (to > f.headerEnd) {
                long start = Math.max(from, f.headerEnd);
                f.adopt(start, to);
                adopted += to - start;
            }
        }
        metrics.bytesAdopted(adopted);
        LOG.info(
                "slot {}: adopted {} staged bytes of {} from its kept staging file",
                env.slot,
                adopted,
                Redaction.uri(f.uriObject));
        return header.stream().mapToLong(Long::longValue).toArray();
    }

    private static boolean matches(SafetensorsHeader h, StagedEntry e, DeviceBuffer data)
            throws DeviceException {
        List<TensorInfo> tensors = h.tensors();
        if (h.dataStart() != e.dataStart() || tensors.size() != e.tensors().size()) {
            return false;
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            StagedTensor w = e.tensors().get(i);
            if (!t.name().equals(w.name())
                    || t.begin() != w.begin()
                    || t.byteSize() != w.byteSize()
                    || data.crc32c(t.begin(), t.byteSize()) != w.crc32cValue()) {
                return false;
            }
        }
        return true;
    }
}
