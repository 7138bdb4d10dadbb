package io.warmstage.staging;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import io.warmstage.registry.KeptSegments;
import io.warmstage.storage.FileId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staging files of the cpu device kept when a slot is cut short (a checkpoint was taken or
 * restored, so a restore may follow): each keeps its name, and beside it a record of the byte
 * ranges it holds with their CRC-32C ({@link KeptSegments}), for the restored slot to adopt and for
 * readers on this host to read instead of the origin.
 */
final class KeptFiles {
    private static final Logger LOG = LoggerFactory.getLogger(KeptFiles.class);

    private KeptFiles() {}

    /**
     * A staged file's name: a hash of its URI and pinned version, never the raw URI. The hash's
     * input ({@code <uri>\n<size>\n<etag>}) must not change: a restored slot finds a kept file by
     * it.
     */
    static String stagingName(FileId file) {
        String id = file.uri() + "\n" + file.size() + "\n" + file.version().etag();
        try {
            byte[] h =
                    MessageDigest.getInstance("SHA-256")
                            .digest(id.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16) + ".safetensors";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * At a slot's close: files still open were cut short (a normal end has none). When a restore
     * may follow ({@code restorable}) and they are staging files of the cpu device, they are kept
     * for a restored slot on this host to adopt what the checkpoint says they hold; otherwise their
     * memory is freed.
     */
    static void keepOrFree(int slot, Device device, List<StagingFile> open, boolean restorable) {
        if (restorable && !open.isEmpty() && device instanceof HostDevice) {
            LOG.info(
                    "slot {}: keeping {} partly staged file(s) for a restore to adopt",
                    slot,
                    open.size());
        }
        for (StagingFile f : open) {
            if (restorable && device instanceof HostDevice hd && f.data instanceof HostBuffer b) {
                keep(slot, hd, f, b);
            } else {
                f.data.close();
            }
        }
    }

    /** Keeps {@code f}'s staging file under its name, with the record of what it holds. */
    private static void keep(int slot, HostDevice device, StagingFile f, HostBuffer b) {
        List<long[]> held = heldRanges(slot, f);
        device.keep(b, stagingName(new FileId(f.uri, f.version)));
        recordKept(slot, f, held, b.path());
    }

    /** What a file cut short holds, with CRC-32C ({@link StagingFile#heldSegments}); or none. */
    private static List<long[]> heldRanges(int slot, StagingFile f) {
        try {
            return f.heldSegments();
        } catch (DeviceException | RuntimeException e) {
            LOG.warn("slot {}: cannot checksum what {} holds: {}", slot, f.uri, e.toString());
            return List.of();
        }
    }

    /**
     * Writes beside a kept staging file what it holds ({@link KeptSegments}): after a failover,
     * readers on this host read those ranges from it instead of the origin once they match their
     * CRC-32C, whichever slot is restored here.
     */
    private static void recordKept(int slot, StagingFile f, List<long[]> held, Path kept) {
        if (held.isEmpty() || !Files.isRegularFile(kept)) {
            return;
        }
        try {
            if (held.get(0)[0] == 0) { // the header, which a staging file gets only when published
                try (var ch = FileChannel.open(kept, StandardOpenOption.WRITE)) {
                    var header = ByteBuffer.wrap(f.headerBytes());
                    for (long pos = 0; header.hasRemaining(); ) {
                        pos += ch.write(header, pos);
                    }
                }
            }
            new KeptSegments(f.uri, f.fileSize, f.version.etag(), held).writeBeside(kept);
        } catch (IOException | RuntimeException e) {
            LOG.warn("slot {}: cannot record what {} holds: {}", slot, kept, e.toString());
        }
    }
}
