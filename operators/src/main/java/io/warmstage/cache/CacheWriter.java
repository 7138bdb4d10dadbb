package io.warmstage.cache;

import io.warmstage.host.HostDirs;
import io.warmstage.host.HostIdentity;
import io.warmstage.host.HostOptions;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RangeReads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Writes chunks into the host's {@link LocalCache} off the task thread, for {@code
 * AsyncDataStream.unorderedWait}: a WRITE is a positional write on a small thread pool and emits
 * nothing; a COMMIT waits for that file's writes, then publishes it and emits one {@link
 * CacheResult}; an ABORT waits for the writes, then drops the temp file. A failed write poisons its
 * file: the commit reports {@code failed} and publishes nothing. The cache is best effort: no op
 * fails the job. The async operator's capacity bounds the chunks held in memory.
 *
 * <p>All ops of one file must reach the same subtask. After a restore, a file whose earlier writes
 * were lost fails its coverage check at commit and is reported {@code failed}.
 */
public class CacheWriter extends RichAsyncFunction<CacheOp, CacheResult>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final long SHUTDOWN_SECONDS = 30;

    private final String dir;
    private final Configuration fleet;
    private final int threads;
    private transient LocalCache cache;
    private transient ObjectStores stores;
    private transient boolean restored;
    private transient ExecutorService pool;
    private transient Map<String, FileWrite> files;

    /**
     * @param dir the cache directory on each TaskManager's host
     * @param threads I/O threads per subtask, 1 or more (2 is plenty for one disk)
     */
    public CacheWriter(String dir, int threads) {
        this(dir, threads, new Configuration());
    }

    /**
     * @param dir the cache directory on each TaskManager's host
     * @param threads I/O threads per subtask
     * @param fleet the job's options: in a local fleet simulation ({@link
     *     HostOptions#SIMULATED_HOSTS}) each simulated host writes into its own subdirectory of
     *     {@code dir} ({@link HostDirs#underHost})
     */
    public CacheWriter(String dir, int threads, Configuration fleet) {
        if (threads <= 0) {
            throw new IllegalArgumentException("need at least one cache thread: " + threads);
        }
        this.dir = dir;
        this.fleet = new Configuration(fleet);
        this.threads = threads;
    }

    /** Opens the cache directory and starts the I/O threads. */
    @Override
    public void open(OpenContext openContext) throws IOException {
        Path base = Path.of(dir);
        if (fleet.getOptional(HostOptions.SIMULATED_HOSTS).isPresent()) {
            // Only a simulated host has a directory of its own under the configured one.
            var variables = getRuntimeContext().getMetricGroup().getAllVariables();
            base = HostDirs.underHost(base, HostIdentity.of(variables, fleet));
        }
        cache = LocalCache.open(base, fleet);
        pool =
                new ThreadPoolExecutor(
                        threads, threads, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1 << 16));
        files = new HashMap<>();
    }

    /** Notes whether the task restarted from a checkpoint (its replayed commits may lack bytes). */
    @Override
    public void initializeState(FunctionInitializationContext ctx) {
        restored = ctx.isRestored();
    }

    /** Nothing of its own: in-flight operations are checkpointed by the async operator. */
    @Override
    public void snapshotState(FunctionSnapshotContext ctx) {}

    /** Called on the task thread; completes {@code result} from the pool. */
    @Override
    public void asyncInvoke(CacheOp op, ResultFuture<CacheResult> result) {
        switch (op.kind) {
            case WRITE -> write(op, result);
            case COMMIT -> finish(op, result, f -> commit(op, f));
            case ABORT -> finish(op, result, f -> abort(op, f));
            default -> throw new IllegalArgumentException("unknown cache op " + op.kind);
        }
    }

    /** Timeouts never fail the job: the file is poisoned, a commit or abort reports failed. */
    @Override
    public void timeout(CacheOp op, ResultFuture<CacheResult> result) {
        FileWrite f = files.get(op.uri);
        if (f != null) {
            f.fail(new IOException("cache write timed out"));
        }
        result.complete(
                op.kind == CacheOp.Kind.WRITE
                        ? List.of()
                        : List.of(CacheResult.failed(op.uri, op.kind + " timed out")));
    }

    /** Stops the I/O threads, then drops every file not committed or aborted. */
    @Override
    public void close() throws Exception {
        if (pool != null) {
            pool.shutdownNow();
            pool.awaitTermination(SHUTDOWN_SECONDS, TimeUnit.SECONDS);
        }
        if (files != null) {
            for (FileWrite f : new ArrayList<>(files.values())) {
                PendingEntry e = f.entryOrNull();
                if (e != null) {
                    e.abort();
                }
            }
            files.clear();
        }
    }

    private void write(CacheOp op, ResultFuture<CacheResult> result) {
        FileWrite f = files.computeIfAbsent(op.uri, u -> begin(op));
        ByteBuffer bytes = op.bytes();
        f.write(e -> e.write(op.offset, bytes), pool)
                .whenComplete(
                        (v, t) -> {
                            op.releaseBuffer();
                            result.complete(List.of());
                        });
    }

    /** Removes the file's state, waits for its writes, then runs {@code last} on the pool. */
    private void finish(CacheOp op, ResultFuture<CacheResult> result, Finisher last) {
        FileWrite f = files.remove(op.uri);
        FileWrite file = f != null ? f : begin(op);
        file.writesDone()
                .thenApplyAsync(v -> last.apply(file), pool)
                .whenComplete((r, t) -> result.complete(withCorruptNote(op, orFailed(op, r, t))));
    }

    private CacheResult commit(CacheOp op, FileWrite f) {
        PendingEntry e = f.entryOrNull();
        String failure = f.failureReason();
        if (f.untrustedReason() != null) {
            return CacheResult.failed(op.uri, f.untrustedReason()); // the same for every file
        }
        if (restored && e != null && failure == null && !e.gaps().isEmpty()) {
            // A commit replayed after a restore: the bytes written before it went to the task that
            // failed. Fill what is missing from the origin, pinned to the same version, unless
            // that task published the entry before it went.
            try {
                var published = cache.lookup(URI.create(op.uri), op.version());
                if (published.isPresent()) {
                    abortQuietly(e);
                    return CacheResult.published(
                            op.uri, published.get().toString(), op.version().size());
                }
                fillFromOrigin(op, e);
            } catch (IOException | RuntimeException ex) {
                abortQuietly(e);
                return CacheResult.failed(
                        op.uri,
                        "cache entry for "
                                + op.uri
                                + " not published: its bytes were lost in a restart and could"
                                + " not be read again: "
                                + ex.getMessage());
            }
        }
        if (e == null || failure != null) {
            abortQuietly(e);
            return CacheResult.failed(
                    op.uri, "cache entry for " + op.uri + " not published: " + failure);
        }
        try {
            OptionalInt crc = op.crc32c == null ? OptionalInt.empty() : OptionalInt.of(op.crc32c);
            CacheEntry entry =
                    op.headerCrc32c != null && op.tensorCrc32c != null
                            ? e.commit(crc, op.headerCrc32c, op.tensorCrc32c)
                            : e.commit(crc);
            return CacheResult.published(op.uri, e.dataFile().toString(), entry.size());
        } catch (IOException | RuntimeException ex) {
            return CacheResult.failed(op.uri, ex.getMessage());
        }
    }

    private void fillFromOrigin(CacheOp op, PendingEntry e) throws IOException {
        ObjectStores stores;
        synchronized (this) {
            if (this.stores == null) {
                this.stores = ObjectStores.create(fleet);
            }
            stores = this.stores;
        }
        URI uri = URI.create(op.uri);
        for (long[] gap : e.gaps()) {
            RangeReads.readPieces(
                    stores.forUri(uri),
                    uri,
                    op.version(),
                    gap[0],
                    gap[1],
                    4 << 20,
                    stores.retryPolicy(),
                    (off, bytes) -> e.write(off, ByteBuffer.wrap(bytes)));
        }
    }

    private CacheResult abort(CacheOp op, FileWrite f) {
        abortQuietly(f.entryOrNull());
        return CacheResult.aborted(op.uri, op.reason);
    }

    private FileWrite begin(CacheOp op) {
        URI uri = URI.create(op.uri);
        ObjectVersion version = op.version();
        return new FileWrite(
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return cache.begin(uri, version);
                            } catch (IOException ex) {
                                throw new UncheckedIOException(ex);
                            }
                        },
                        pool));
    }

    /** {@code r}, after a "corrupt" result if a corrupt copy of this file was found here. */
    private List<CacheResult> withCorruptNote(CacheOp op, CacheResult r) {
        return cache.takeCorruptNote(URI.create(op.uri), op.version())
                .map(why -> List.of(CacheResult.corrupt(op.uri, why), r))
                .orElse(List.of(r));
    }

    private static CacheResult orFailed(CacheOp op, CacheResult r, Throwable t) {
        return r != null ? r : CacheResult.failed(op.uri, "cache write failed: " + t);
    }

    private static void abortQuietly(PendingEntry e) {
        if (e == null) {
            return;
        }
        try {
            e.abort();
        } catch (IOException ex) {
            // The temp file stays in .tmp; nothing was published.
        }
    }

    /** The last step for a file, on the pool. */
    @FunctionalInterface
    private interface Finisher {
        CacheResult apply(FileWrite file);
    }
}
