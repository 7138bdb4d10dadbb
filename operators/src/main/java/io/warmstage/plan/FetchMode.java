package io.warmstage.plan;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How often each byte is fetched from the origin when a model is placed on several slots.
 *
 * <ul>
 *   <li>{@link #PER_TARGET}: each slot's reader fetches its own copy (origin traffic: one copy per
 *       placed slot); the source is partitioned by key group and reinterpreted as keyed, so chunks
 *       never cross a network or task boundary.
 *   <li>{@link #PER_HOST}: one reader per host fetches each range and hands it to that host's
 *       placed slots (one copy per host).
 *   <li>{@link #FAN_OUT}: each range is fetched once for the whole fleet and replicated to every
 *       placed slot through Flink's network by a keyed exchange (one copy in all).
 * </ul>
 */
public enum FetchMode {
    PER_TARGET("per-target"),
    PER_HOST("per-host"),
    FAN_OUT("fan-out");

    private final String label;

    FetchMode(String label) {
        this.label = label;
    }

    /** The name used in manifests and options: per-target, per-host or fan-out. */
    public String label() {
        return label;
    }

    /** Whether records reach their slots through a keyed exchange (not a chained edge). */
    public boolean needsExchange() {
        return this != PER_TARGET;
    }

    /**
     * Parses a mode name, case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static FetchMode parse(String s) {
        for (FetchMode m : values()) {
            if (m.label.equalsIgnoreCase(s == null ? "" : s.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException(
                "fetch mode must be one of "
                        + Arrays.stream(values())
                                .map(FetchMode::label)
                                .collect(Collectors.joining(", "))
                        + ", got '"
                        + s
                        + "'");
    }

    @Override
    public String toString() {
        return label.toLowerCase(Locale.ROOT);
    }
}
