package io.warmstage.staging;

import io.warmstage.device.Device;
import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import java.util.HashMap;
import java.util.Map;

/**
 * The files a staging slot staged (or adopted after a restore) and holds: with {@link
 * StagingOptions#KEEP_RESIDENT} in the JVM's {@link ResidentSet}, which outlives the job; else
 * here, by URI, until a release or the job's end frees them.
 */
final class SlotResidents {
    private final int slot;
    private final boolean keepResident;

    /** Files staged by this slot and kept until the job ends (without keep-resident), by URI. */
    private final Map<String, ResidentSet.Entry> staged = new HashMap<>();

    SlotResidents(int slot, boolean keepResident) {
        this.slot = slot;
        this.keepResident = keepResident;
    }

    /** Holds a staged file; an older version of it on this slot is withdrawn, then freed. */
    void add(ResidentSet.Entry e) {
        if (keepResident) {
            ResidentSet.put(e);
        } else {
            ResidentSet.Entry old = staged.put(e.uri(), e); // stays until the job ends
            if (old != null && old.data() != e.data()) {
                old.free();
            }
        }
    }

    /**
     * Frees the device memory of {@code model}'s files on this slot.
     *
     * @return bytes freed
     */
    long release(String model) {
        long freed = ResidentSet.release(slot, model);
        for (var it = staged.values().iterator(); it.hasNext(); ) {
            ResidentSet.Entry e = it.next();
            if (e.model().equals(model)) {
                freed += e.data().size();
                e.free();
                it.remove();
            }
        }
        return freed;
    }

    /**
     * At the slot's end: frees the files held here (entry withdrawn, then memory freed), or, for a
     * job cut short ({@code cutShort}) on the cpu device, keeps their staging files listed and in
     * place for the restored slot to adopt. Resident files stay.
     */
    void close(boolean cutShort, Device device) {
        for (ResidentSet.Entry e : staged.values()) {
            if (cutShort && device instanceof HostDevice hd && e.data() instanceof HostBuffer b) {
                hd.keep(b, "published");
            } else {
                e.free();
            }
        }
        staged.clear();
    }
}
