package io.warmstage.staging;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.WeightSourceOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.RangeReads;
import java.io.IOException;
import java.net.URI;
import org.apache.flink.configuration.Configuration;

/**
 * Reads byte ranges of a file again from storage (ranged reads pinned to the file's version, with
 * the storage layer's retries) and stages them as records of the file: after a restore, the ranges
 * the checkpoint says were staged (device memory is not checkpointed); after a cached copy did not
 * match its entry, the whole file from the origin. Pieces are {@link
 * WeightSourceOptions#RECORD_SIZE} bytes, the size of the source's own records, but at most {@link
 * #MAX_PIECE_BYTES}: each piece is a heap array, and a refill must not hold more per slot.
 */
final class Refiller implements AutoCloseable {
    /** Stages one record of a file. */
    @FunctionalInterface
    interface Stage {
        void accept(StagingFile f, ChunkRecord r) throws Exception;
    }

    /** The largest piece read at once, in bytes (4 MiB): the refill's heap bound per slot. */
    static final int MAX_PIECE_BYTES = 4 << 20;

    private final Configuration config;
    private final int pieceBytes;
    private ObjectStores stores;

    /**
     * @param config storage options and {@link WeightSourceOptions#RECORD_SIZE}
     * @throws IllegalArgumentException if the record size is not positive
     */
    Refiller(Configuration config) {
        this.config = config;
        long record = config.get(WeightSourceOptions.RECORD_SIZE).getBytes();
        if (record <= 0) {
            throw new IllegalArgumentException(
                    WeightSourceOptions.RECORD_SIZE.key() + " must be positive, got " + record);
        }
        this.pieceBytes = (int) Math.min(record, MAX_PIECE_BYTES);
    }

    /**
     * Reads {@code ranges} ({@code start, end} pairs of absolute offsets) of {@code f} and stages
     * them in order.
     *
     * @param like a record of the file, copied for each piece (same file, version, destination)
     * @param skip tensors the index assigns to another shard, or null
     * @throws Exception as the read ({@link java.io.IOException}) or {@code stage} throws
     */
    void refill(StagingFile f, long[] ranges, String[] skip, ChunkRecord like, Stage stage)
            throws Exception {
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            read(f, ranges[i], ranges[i + 1], skip, like, stage);
        }
    }

    /** Reads all of {@code f} (as {@link #refill} with one range, the whole file). */
    void refetch(StagingFile f, String[] skip, ChunkRecord like, Stage stage) throws Exception {
        read(f, 0, f.fileSize, skip, like, stage);
    }

    @Override
    public void close() throws IOException {
        if (stores != null) {
            stores.close();
        }
    }

    private void read(
            StagingFile f, long from, long to, String[] skip, ChunkRecord like, Stage stage)
            throws Exception {
        if (stores == null) {
            stores = ObjectStores.create(config);
        }
        URI uri = f.uriObject;
        RangeReads.readPieces(
                stores.forUri(uri),
                uri,
                f.version,
                from,
                to,
                pieceBytes,
                stores.retryPolicy(),
                (off, bytes) -> {
                    ChunkRecord r = like.copy();
                    r.offset = off;
                    r.withBytes(bytes);
                    r.cacheHit = false;
                    r.expectedHeaderCrc = null;
                    r.expectedCrcs = null;
                    r.skipTensors = off == 0 && skip != null && skip.length > 0 ? skip : null;
                    stage.accept(f, r);
                });
    }
}
