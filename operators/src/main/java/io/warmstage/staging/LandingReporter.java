package io.warmstage.staging;

import io.warmstage.cache.ContentPins;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.HostDevice;
import io.warmstage.format.TensorInfo;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.TimerService;

/**
 * Sends a slot's tensor events once their bytes have landed on the device, not when their copies
 * are queued: the copies run on while the next records are staged, and a timer looks again at
 * tensors still in flight every {@link #LANDING_POLL_MS} ms. A file pinned by SHA-256 holds its
 * tensor events back until the whole file matches the pin.
 */
final class LandingReporter {
    /** How soon, in milliseconds, tensors whose copies are in flight are looked at again. */
    static final long LANDING_POLL_MS = 10;

    private final Device device;
    private final boolean verify;
    private final Map<String, String> sha256Pins;
    private final SlotEvents events;
    private final StagingMetrics metrics;

    /** The processing time of the timer registered for tensors in flight, or Long.MIN_VALUE. */
    private long landingTimer = Long.MIN_VALUE;

    /**
     * @param verify {@link StagingOptions#VERIFY}: read tensors back from a device other than cpu
     * @param sha256Pins the files' SHA-256 pins ({@link ContentPins#of})
     */
    LandingReporter(
            Device device,
            boolean verify,
            Map<String, String> sha256Pins,
            SlotEvents events,
            StagingMetrics metrics) {
        this.device = device;
        this.verify = verify;
        this.sha256Pins = sha256Pins;
        this.events = events;
        this.metrics = metrics;
    }

    /** After a record of {@code f} is staged: reports what landed, looks again later if needed. */
    void staged(StagingFile f, SlotOutput out) throws DeviceException {
        report(f, false, out);
        if (f.awaitingLanding()) {
            awaitLanding(out.timers());
        }
    }

    /** Sends the events of {@code f}'s tensors that have landed ({@code wait}: of all of them). */
    void report(StagingFile f, boolean wait, SlotOutput out) throws DeviceException {
        List<StagingFile.Done> landed = f.landed(wait);
        if (landed.isEmpty()) {
            return;
        }
        boolean pinned = ContentPins.pinOf(sha256Pins, f.uri) != null;
        for (StagingFile.Done t : landed) {
            StagingEvent e = tensorEvent(f, t);
            if (pinned) {
                f.held.add(e);
            } else {
                out.emit(e);
                metrics.tensorReported();
            }
        }
    }

    /**
     * Once every byte of {@code f} is staged: its mismatch with its SHA-256 pin, or null when it
     * matches or has no pin.
     */
    String pinMismatch(StagingFile f) throws DeviceException {
        String pin = ContentPins.pinOf(sha256Pins, f.uri);
        return pin == null ? null : Sha256Check.mismatch(f.uri, f.headerBytes(), f.data, pin);
    }

    /** Sends the tensor events {@code f} held back for its pin check, which it passed. */
    void sendHeld(StagingFile f, SlotOutput out) {
        for (StagingEvent held : f.held) {
            out.emit(held);
            metrics.tensorReported();
        }
        f.held.clear();
    }

    /**
     * Sends the events of every open file's landed tensors. A file whose copy failed is left as it
     * is: the failure surfaces when its own next record or its completion is staged.
     *
     * @return whether tensors still wait for their copies
     */
    boolean reportLanded(Collection<StagingFile> open, SlotOutput out) {
        boolean waiting = false;
        for (StagingFile f : open) {
            try {
                report(f, false, out);
            } catch (DeviceException e) {
                continue;
            }
            waiting |= f.awaitingLanding();
        }
        return waiting;
    }

    /** The landing timer fired at {@code timestamp}: reports what landed since. */
    void onTimer(long timestamp, Collection<StagingFile> open, SlotOutput out) {
        if (timestamp != landingTimer) {
            return;
        }
        landingTimer = Long.MIN_VALUE;
        if (reportLanded(open, out)) {
            awaitLanding(out.timers());
        }
    }

    /** Wakes the slot soon to report tensors whose copies are still in flight. */
    private void awaitLanding(TimerService timers) {
        if (landingTimer == Long.MIN_VALUE) {
            landingTimer = timers.currentProcessingTime() + LANDING_POLL_MS;
            timers.registerProcessingTimeTimer(landingTimer);
        }
    }

    /**
     * A tensor event with the CRC-32C of the tensor's bytes as they were copied to the device. With
     * {@link StagingOptions#VERIFY} on a device other than cpu (whose staging files are written by
     * the kernel from the same bytes), the tensor is also read back from the device and must match.
     */
    private StagingEvent tensorEvent(StagingFile f, StagingFile.Done d) throws DeviceException {
        TensorInfo t = d.tensor();
        StagingEvent e = events.tensor(f.model, f.uri, t, d.crc32c());
        if (verify && !(device instanceof HostDevice)) {
            int onDevice = f.data.crc32c(t.begin(), t.byteSize());
            if (onDevice != d.crc32c()) {
                throw new DeviceException(
                        f.uri
                                + ": tensor "
                                + t.name()
                                + " reads back from "
                                + device.name()
                                + " with CRC-32C "
                                + StagingEvent.hex(onDevice)
                                + ", copied with "
                                + e.crc32c);
            }
        }
        return e;
    }
}
