package io.warmstage.device;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which staging slots of this JVM (one TaskManager) hold which GPU, so that two slots never stage
 * into one GPU unless told they may. {@link #JVM} is the registry {@link Devices#openForSlot} uses;
 * tests make their own. Thread-safe.
 */
public final class GpuClaims {
    /** The registry of this JVM. */
    static final GpuClaims JVM = new GpuClaims();

    private final Map<Integer, List<Integer>> holders = new HashMap<>();

    GpuClaims() {}

    /**
     * Claims the first of {@code slot}'s {@link SlotGpu#candidates} that no other slot holds; when
     * all are held and the slot may share, the first candidate.
     *
     * @param deviceCount GPUs the CUDA driver reports, 1 or more
     * @throws DeviceException if a candidate is not a GPU of this host, or every candidate is held
     *     and sharing is off (the message names the GPU, both subtasks and the option to set)
     */
    public synchronized Claim claim(SlotGpu slot, int deviceCount) throws DeviceException {
        List<Integer> candidates = slot.candidates(deviceCount);
        for (int ordinal : candidates) {
            if (ordinal >= deviceCount) {
                throw new DeviceException(
                        "cannot open cuda:"
                                + ordinal
                                + " for subtask "
                                + slot.subtask()
                                + " (from "
                                + slot.source()
                                + "): this host has "
                                + deviceCount
                                + " GPU(s)");
            }
        }
        for (int ordinal : candidates) {
            if (!holders.containsKey(ordinal)) {
                return take(ordinal, slot.subtask());
            }
        }
        int first = candidates.get(0);
        if (slot.shared()) {
            return take(first, slot.subtask());
        }
        throw new DeviceException(
                "subtask "
                        + slot.subtask()
                        + " cannot use cuda:"
                        + first
                        + " (from "
                        + slot.source()
                        + "): subtask(s) "
                        + holders.get(first)
                        + " of this TaskManager already stage into it; give each slot its own"
                        + " GPU or set "
                        + GpuOptions.GPU_SHARED.key()
                        + ": true");
    }

    /**
     * Claims GPU {@code ordinal} for {@code subtask} (an explicit {@code cuda:N}).
     *
     * @throws DeviceException if another slot holds it and {@code shared} is false
     */
    public Claim claim(int ordinal, int subtask, boolean shared, int deviceCount)
            throws DeviceException {
        return claim(SlotGpu.of(subtask, List.of(), List.of(ordinal), shared), deviceCount);
    }

    /** Subtasks holding {@code ordinal}, in claim order; empty when free. */
    public synchronized List<Integer> holders(int ordinal) {
        return List.copyOf(holders.getOrDefault(ordinal, List.of()));
    }

    private Claim take(int ordinal, int subtask) {
        holders.computeIfAbsent(ordinal, k -> new ArrayList<>()).add(subtask);
        return new Claim(ordinal, subtask);
    }

    private synchronized void release(int ordinal, int subtask) {
        List<Integer> h = holders.get(ordinal);
        if (h != null) {
            h.remove(Integer.valueOf(subtask));
            if (h.isEmpty()) {
                holders.remove(ordinal);
            }
        }
    }

    /** One slot's hold on one GPU; {@link #close} releases it, once. */
    public final class Claim implements AutoCloseable {
        private final int ordinal;
        private final int subtask;
        private boolean released;

        private Claim(int ordinal, int subtask) {
            this.ordinal = ordinal;
            this.subtask = subtask;
        }

        /** The claimed GPU's CUDA ordinal. */
        public int ordinal() {
            return ordinal;
        }

        /** Releases the GPU for other slots. Idempotent. */
        @Override
        public void close() {
            synchronized (GpuClaims.this) {
                if (!released) {
                    released = true;
                    release(ordinal, subtask);
                }
            }
        }
    }
}
