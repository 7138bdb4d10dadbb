package io.warmstage.api;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostDevice;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsException;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedFileBuffer;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.Redaction;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;

/**
 * Loads a file from the host's staged set instead of its origin: for the cpu device the staging
 * file is mapped (zero copy); for another device it is copied from the staging file. Either way
 * every tensor is checked against the entry (name, dtype, shape, offsets from the staging file's
 * own header, and CRC-32C); a file that fails a check, or was withdrawn meanwhile, is not used.
 */
final class StagedLookup {
    private StagedLookup() {}

    /** The tensors of {@code uriText} from the staged set under {@code stagingDir}, if staged. */
    static Optional<Map<String, Tensor>> load(
            Path stagingDir, String uriText, Device device, Configuration config)
            throws IOException, DeviceException {
        String uri = Redaction.stagedUri(ObjectStores.toUri(uriText));
        Optional<StagedEntry> hit = StagedSet.at(stagingDir).findOnHost(uri);
        if (hit.isEmpty()) {
            return Optional.empty();
        }
        StagedEntry entry = hit.get();
        Path file = Path.of(entry.file());
        SafetensorsHeader header;
        StagedFileBuffer staged;
        try {
            staged = StagedFileBuffer.open(file, entry.dataStart()); // open: valid until closed
            header = HeaderParser.read(file);
        } catch (IOException | SafetensorsException e) {
            return Optional.empty(); // withdrawn meanwhile, or not what the entry says
        }
        if (!matches(header, entry)) {
            staged.close();
            return Optional.empty();
        }
        if (device instanceof HostDevice) {
            Map<String, Tensor> tensors = tensors(header, staged);
            if (verified(tensors, entry)) {
                return Optional.of(tensors);
            }
            staged.close();
            return Optional.empty();
        }
        staged.close();
        Map<String, Tensor> copied;
        try (FileLoader loader = new FileLoader(config, null)) {
            copied = loader.load(file.toString(), device);
        } catch (IOException | SafetensorsException e) {
            return Optional.empty();
        }
        if (verified(copied, entry)) {
            return Optional.of(copied);
        }
        Warmstage.release(copied);
        return Optional.empty();
    }

    private static boolean matches(SafetensorsHeader header, StagedEntry entry) {
        List<TensorInfo> got = header.tensors();
        List<StagedTensor> want = entry.tensors();
        if (header.dataStart() != entry.dataStart() || got.size() != want.size()) {
            return false;
        }
        for (int i = 0; i < got.size(); i++) {
            TensorInfo t = got.get(i);
            StagedTensor w = want.get(i);
            if (!t.name().equals(w.name())
                    || !t.dtype().name().equals(w.dtype())
                    || t.begin() != w.begin()
                    || t.byteSize() != w.byteSize()
                    || !java.util.Arrays.equals(
                            t.shape(), w.shape().stream().mapToLong(Long::longValue).toArray())) {
                return false;
            }
        }
        return true;
    }

    private static boolean verified(Map<String, Tensor> tensors, StagedEntry entry)
            throws DeviceException {
        for (StagedTensor w : entry.tensors()) {
            Tensor t = tensors.get(w.name());
            if (t == null || t.crc32c() != w.crc32cValue()) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, Tensor> tensors(SafetensorsHeader h, StagedFileBuffer data) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (TensorInfo t : h.tensors()) {
            out.put(
                    t.name(),
                    new Tensor(t.name(), t.dtype(), t.shape(), data, t.begin(), t.byteSize()));
        }
        return out;
    }
}
