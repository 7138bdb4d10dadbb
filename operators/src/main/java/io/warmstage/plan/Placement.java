package io.warmstage.plan;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which slots hold a model: every slot, {@code N} replicas spread over the hosts, or the slots of
 * the hosts whose name matches a regular expression.
 *
 * @param replicas the number of slots, or 0 for every slot
 * @param hosts a regular expression ({@link Pattern}, whole-name match) on host names, or null
 */
public record Placement(int replicas, String hosts) implements Serializable {
    /** Every slot holds the model (the default). */
    public static final Placement ALL = new Placement(0, null);

    /**
     * @throws IllegalArgumentException if replicas is negative, both fields are set, or the host
     *     pattern is not a valid regular expression
     */
    public Placement {
        if (replicas < 0) {
            throw new IllegalArgumentException(
                    "placement replicas must be at least 1: " + replicas);
        }
        if (replicas > 0 && hosts != null) {
            throw new IllegalArgumentException("placement takes replicas or hosts, not both");
        }
        if (hosts != null) {
            try {
                Pattern.compile(hosts);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(
                        "placement hosts is not a regular expression: " + e.getDescription(), e);
            }
        }
    }

    /** {@code n} slots, spread over the hosts. */
    public static Placement replicas(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("placement replicas must be at least 1: " + n);
        }
        return new Placement(n, null);
    }

    /** The slots of the hosts whose whole name matches {@code regex}. */
    public static Placement hosts(String regex) {
        return new Placement(0, regex);
    }

    /**
     * The slots (subtask indexes, ascending) that hold the model.
     *
     * <p>Replicas go round-robin over the hosts in name order, starting at host {@code rotation mod
     * hosts}, so that several replicated models spread over the fleet; {@code N} above the slot
     * count means every slot.
     *
     * @param hostOfSlot host name by subtask index (every slot of the job)
     * @param rotation spreads models: e.g. the model's position in the manifest
     */
    public List<Integer> slots(Map<Integer, String> hostOfSlot, int rotation) {
        List<Integer> out = new ArrayList<>();
        if (hosts != null) {
            Pattern p = Pattern.compile(hosts);
            hostOfSlot.forEach(
                    (slot, host) -> {
                        if (p.matcher(host).matches()) {
                            out.add(slot);
                        }
                    });
        } else if (replicas == 0 || replicas >= hostOfSlot.size()) {
            out.addAll(hostOfSlot.keySet());
        } else {
            TreeMap<String, List<Integer>> byHost = new TreeMap<>();
            new TreeMap<>(hostOfSlot)
                    .forEach((s, h) -> byHost.computeIfAbsent(h, k -> new ArrayList<>()).add(s));
            List<List<Integer>> hostSlots = new ArrayList<>(byHost.values());
            int start = Math.floorMod(rotation, hostSlots.size());
            for (int round = 0; out.size() < replicas; round++) {
                for (int i = 0; i < hostSlots.size() && out.size() < replicas; i++) {
                    List<Integer> slots = hostSlots.get((start + i) % hostSlots.size());
                    if (round < slots.size()) {
                        out.add(slots.get(round));
                    }
                }
            }
        }
        out.sort(null);
        return out;
    }

    @Override
    public String toString() {
        return hosts != null
                ? "hosts matching " + hosts
                : replicas == 0 ? "every slot" : replicas + " replica(s)";
    }
}
