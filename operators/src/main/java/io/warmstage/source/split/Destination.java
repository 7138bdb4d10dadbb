package io.warmstage.source.split;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One staging target a split's records go to.
 *
 * <p>In host-level fan-out the target is a host's lead slot (its lowest placed subtask) and {@link
 * #relay} lists the keys of that host's placed targets, the lead's included: the chunk crosses the
 * network once to the lead's relay, which hands a copy to each listed target over the host's local
 * channels. Otherwise {@link #relay} is empty and the records are for the target alone.
 *
 * @param target the staging target key ({@code TargetKeys})
 * @param cacheOwner whether this target (and every target it relays to) may write the file into its
 *     host's cache
 * @param local whether the target sits on the host of the reader that fetches the split (a cached
 *     copy read there is a cache hit for it; a remote target's host has not got it)
 * @param relay target keys on the target's host that its relay hands each record to, the target's
 *     own included; empty when the records need no relay
 */
public record Destination(int target, boolean cacheOwner, boolean local, List<Integer> relay) {
    /**
     * @throws NullPointerException if {@code relay} is null or holds null
     * @throws IllegalArgumentException if {@code relay} is not empty and lacks {@code target} or
     *     lists a key twice (the relay would miss the lead slot or stage a chunk twice)
     */
    public Destination {
        relay = List.copyOf(relay);
        if (!relay.isEmpty() && !relay.contains(target)) {
            throw new IllegalArgumentException(
                    "destination of target " + target + ": not among its relay targets " + relay);
        }
        Set<Integer> seen = new HashSet<>();
        for (int t : relay) {
            if (!seen.add(t)) {
                throw new IllegalArgumentException(
                        "destination of target "
                                + target
                                + ": relay target "
                                + t
                                + " listed twice");
            }
        }
    }

    /** A destination whose records need no relay. */
    public Destination(int target, boolean cacheOwner, boolean local) {
        this(target, cacheOwner, local, List.of());
    }

    /** A target on the fetching reader's host that does not write the cache. */
    public static Destination of(int target) {
        return new Destination(target, false, true);
    }

    /** Whether this destination's records go through a relay to the targets it lists. */
    public boolean relays() {
        return !relay.isEmpty();
    }
}
