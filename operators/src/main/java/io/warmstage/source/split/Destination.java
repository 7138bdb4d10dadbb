package io.warmstage.source.split;

/**
 * One staging target a split's records go to.
 *
 * @param target the staging target key ({@code TargetKeys})
 * @param cacheOwner whether this target may write the file into its host's cache
 * @param local whether the target sits on the host of the reader that fetches the split (a cached
 *     copy read there is a cache hit for it; a remote target's host has not got it)
 */
public record Destination(int target, boolean cacheOwner, boolean local) {
    /** A target on the fetching reader's host that does not write the cache. */
    public static Destination of(int target) {
        return new Destination(target, false, true);
    }
}
