package io.warmstage.staging;

import io.warmstage.cache.CacheOp;
import io.warmstage.cache.LocalCache;
import io.warmstage.device.DeviceException;
import io.warmstage.memory.Crc32c;
import io.warmstage.source.ChunkRecord;
import io.warmstage.storage.FileId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a staging slot gives its host's cache: the chunks of the files it writes there (the first
 * slot of the host to claim a file writes it, {@link CacheClaims}), then a commit with the
 * checksums computed while staging, or an abort; and the rejection of a cached copy that did not
 * match its entry.
 */
final class CacheFeed implements AutoCloseable {
    private final boolean on;
    private final int slot;
    private final String cacheDir;
    private final LocalCache localCache;
    private final Object claimant = new Object();

    /**
     * @param on whether the host cache is on (chunks go to the side output)
     * @param slot the slot's index
     * @param cacheDir the host's cache directory, or "" when none is configured
     * @param localCache the host's cache read from that directory, or null
     */
    CacheFeed(boolean on, int slot, String cacheDir, LocalCache localCache) {
        this.on = on;
        this.slot = slot;
        this.cacheDir = cacheDir;
        this.localCache = localCache;
    }

    /** Writes a staged record of {@code f} into the host's cache, when this slot writes it. */
    void write(StagingFile f, ChunkRecord r, SlotOutput out) {
        if (on && f.cacheOwner && !f.noCacheWrite && !hostHas(f) && claims(f)) {
            out.cache(CacheOp.write(slot, f.uriObject, f.version, r.offset, r.bytes(), r.buffer));
            f.markCacheWritten();
        }
    }

    /**
     * Commits the cache entry of a complete file this slot wrote, with the checksums computed from
     * the bytes staged (and written): the writer need not read its copy back.
     */
    void commit(StagingFile f, SlotOutput out) throws DeviceException {
        if (!f.cacheWritten()) {
            return;
        }
        List<StagingFile.Done> all = f.allTensors();
        int[] crcs = new int[all.size()];
        for (int i = 0; i < crcs.length; i++) {
            crcs[i] = all.get(i).crc32c();
        }
        out.cache(
                CacheOp.commit(
                        slot,
                        f.uriObject,
                        f.version,
                        Crc32c.of(ByteBuffer.wrap(f.headerBytes())),
                        crcs));
    }

    /** Drops the cache write of {@code f}, if this slot made one. */
    void abort(StagingFile f, String reason, SlotOutput out) {
        if (f.cacheWritten()) {
            out.cache(CacheOp.abort(slot, f.uriObject, f.version, reason));
        }
    }

    /**
     * A cached copy {@code f} was staged from did not match its entry: removes the host's copy and
     * drops this slot's write of {@code f}, if it made one.
     */
    void reject(StagingFile f, CachedCopyMismatch m, SlotOutput out) throws IOException {
        if (localCache != null) {
            localCache.reject(f.uriObject, f.version, m.detail());
        }
        abort(f, m.getMessage(), out);
    }

    /** Whether the host cache is on. */
    boolean on() {
        return on;
    }

    /**
     * How a staged file's event names the cache: {@code off}, or {@code hit} when it came from the
     * cache ({@link #fromCache}), else {@code miss}.
     */
    String label(boolean fromCache) {
        return !on ? "off" : fromCache ? "hit" : "miss";
    }

    /** How a failed file's event names the cache: {@code miss} or {@code off}. */
    String failed() {
        return on ? "miss" : "off";
    }

    /** Whether every byte of the staged file came from this host's cache, or the host holds it. */
    boolean fromCache(StagingFile f) {
        return on && (f.allFromCache() || hostHas(f));
    }

    /** Drops every claim of this slot (it closes, normally or after a failure). */
    @Override
    public void close() {
        CacheClaims.releaseAll(claimant);
    }

    /**
     * Whether this slot's host holds a verified copy of {@code f} already (decided once per file,
     * when its first chunk arrives): then nobody writes it. Otherwise every chunk is written,
     * wherever it was read from: in fan-out a chunk may come from another host's cache.
     */
    private boolean hostHas(StagingFile f) {
        if (f.hostHas == null) {
            try {
                f.hostHas =
                        localCache != null && localCache.find(f.uriObject, f.version).isPresent();
            } catch (IOException | RuntimeException e) {
                f.hostHas = false;
            }
        }
        return f.hostHas;
    }

    /**
     * Whether this slot writes {@code f} into its host's cache: the first on the host to ask does.
     * Asked once per file: a slot refused at its first chunk never writes a later one, even if the
     * claim's holder closes meanwhile (its copy is published by then, and a write begun mid-file
     * would lack the chunks before it).
     */
    private boolean claims(StagingFile f) {
        if (f.cacheClaimed == null) {
            f.cacheClaimed = CacheClaims.claim(cacheDir, new FileId(f.uri, f.version), claimant);
        }
        return f.cacheClaimed;
    }
}
