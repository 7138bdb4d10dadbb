package io.warmstage.staging;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.format.SafetensorsHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Staged files kept in device memory after their job ends, per JVM (one TaskManager or one embedded
 * cluster), when {@link StagingOptions#KEEP_RESIDENT} is on: the data section of each file, with
 * its header, by slot and URI. Releasing frees the device memory.
 */
public final class ResidentSet {
    /**
     * One staged file.
     *
     * @param slot the staging slot that holds it
     * @param model the model the file was staged for
     * @param uri the file
     * @param header its header; tensor offsets index into {@code data}
     * @param data the data section in device memory ({@code dataSize} bytes)
     * @param registryEntry the file's entry in the host's staged set, or null; withdrawn before
     *     {@code data} is freed
     */
    public record Entry(
            int slot,
            String model,
            String uri,
            SafetensorsHeader header,
            DeviceBuffer data,
            java.nio.file.Path registryEntry) {

        /** An entry not listed in a staged set. */
        public Entry(
                int slot, String model, String uri, SafetensorsHeader header, DeviceBuffer data) {
            this(slot, model, uri, header, data, null);
        }

        /**
         * Withdraws the registry entry, then frees the memory: no consumer finds the file once its
         * memory may be gone. A consumer that mapped the staging file keeps its bytes until it
         * unmaps.
         */
        public void free() {
            if (registryEntry != null) {
                try {
                    io.warmstage.registry.StagedSet.withdraw(registryEntry);
                } catch (java.io.IOException e) {
                    // the entry's file is checked by consumers: it names a file that is gone
                }
            }
            data.close();
        }
    }

    private static final Map<Key, Entry> ENTRIES = new ConcurrentHashMap<>();

    /** A file on one slot. */
    private record Key(int slot, String uri) {}

    private ResidentSet() {}

    /**
     * Keeps {@code entry}, replacing an older copy of the same file on the slot: the old copy's
     * registry entry is withdrawn, then its memory freed.
     */
    public static void put(Entry entry) {
        Entry old = ENTRIES.put(new Key(entry.slot(), entry.uri()), entry);
        if (old != null && old.data() != entry.data()) {
            old.free(); // the new version is published: withdraw the old one, then free it
        }
    }

    /** The file staged on {@code slot}, or null. */
    public static Entry get(int slot, String uri) {
        return ENTRIES.get(new Key(slot, uri));
    }

    /** Every resident file. */
    public static List<Entry> entries() {
        return new ArrayList<>(ENTRIES.values());
    }

    /**
     * Frees the device memory of {@code model}'s files on {@code slot}.
     *
     * @return bytes freed
     */
    public static long release(int slot, String model) {
        long freed = 0;
        for (Map.Entry<Key, Entry> e : new ArrayList<>(ENTRIES.entrySet())) {
            Entry v = e.getValue();
            if (v.slot() == slot && v.model().equals(model) && ENTRIES.remove(e.getKey(), v)) {
                freed += v.data().size();
                v.free();
            }
        }
        return freed;
    }

    /** Frees every resident file's device memory. */
    public static void releaseAll() {
        for (Key k : new ArrayList<>(ENTRIES.keySet())) {
            Entry e = ENTRIES.remove(k);
            if (e != null) {
                e.free();
            }
        }
    }
}
