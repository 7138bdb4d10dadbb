package io.warmstage.staging;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One cache writer per host and file: the staging slots of one TaskManager (one host, or one
 * simulated host) claim each file they are about to write into the host's cache, and only the first
 * slot to claim it writes. Claims live in the JVM and die with the slot that made them, so a slot
 * that restarts elsewhere after a failure never leaves a host without a writer.
 */
final class CacheClaims {
    private static final Map<String, Object> CLAIMS = new ConcurrentHashMap<>();

    private CacheClaims() {}

    /**
     * @param cacheDir the host cache the file would go into
     * @param file the file's URI and pinned version
     * @param owner the claiming slot instance
     * @return whether {@code owner} writes the file
     */
    static boolean claim(String cacheDir, String file, Object owner) {
        Object held = CLAIMS.putIfAbsent(cacheDir + "\n" + file, owner);
        return held == null || held == owner;
    }

    /** Drops every claim of {@code owner} (the slot closes, normally or after a failure). */
    static void releaseAll(Object owner) {
        CLAIMS.values().removeIf(o -> o == owner);
    }
}
