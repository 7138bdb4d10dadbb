package io.warmstage.source.reader;

import io.warmstage.cache.CacheEntry;
import io.warmstage.cache.LocalCache;
import io.warmstage.cache.PeerCopies;
import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import io.warmstage.plan.ErrorDescription;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.FileId;
import io.warmstage.storage.FileRetryBudget;
import io.warmstage.storage.ObjectStore;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RangeReads;
import io.warmstage.storage.Redaction;
import io.warmstage.storage.RetryPolicy;
import io.warmstage.storage.Sleeper;
import io.warmstage.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;

/**
 * Reads assigned splits with ranged reads, several at once, each split cut into records of at most
 * the record size. Host memory is bounded by reads-in-flight x split size: a new read starts only
 * after a finished one has been handed to the reader.
 *
 * <p>A file whose verified copy of the pinned version is in this host's cache is read from there. A
 * read that fails after its retries turns into one failure record for its file; the file's later
 * splits are skipped, and the other files go on.
 */
public final class ChunkSplitReader implements SplitReader<ChunkRecord, ChunkSplit> {
    private static final Object WAKE_UP = new Object();

    private final ObjectStores stores;
    private final RetryPolicy retry;
    private final LocalCache cache;
    private KeptBytes kept;
    private PeerCopies peers;
    private int spread;
    private final int recordSize;
    private final int maxInFlight;
    private final ExecutorService pool;
    private final Deque<ChunkSplit> queue = new ArrayDeque<>();
    private final BlockingQueue<Object> done = new LinkedBlockingQueue<>();
    private final Set<FileId> failedFiles = ConcurrentHashMap.newKeySet();
    private final Map<FileId, Source> sources = new ConcurrentHashMap<>();
    private final Map<String, FileRetryBudget> budgets = new ConcurrentHashMap<>();
    private final Duration budgetPerFile;
    private final BufferPool.Lease buffers;
    private final ChunkBuffers chunkBuffers;
    private int inFlight;
    private volatile ReaderMetrics metrics = ReaderMetrics.unregistered();
    private long lastDryWarning;
    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(ChunkSplitReader.class);

    /**
     * @param cache this host's cache, or null when the cache is off
     * @param recordSize largest record in bytes
     * @param maxInFlight splits read at once
     * @param buffers this reader's share of the TaskManager's buffer pool; the reader takes a
     *     split's bytes before reading it, the source reader gives them back once it is emitted
     */
    public ChunkSplitReader(
            ObjectStores stores,
            RetryPolicy retry,
            LocalCache cache,
            int recordSize,
            int maxInFlight,
            BufferPool.Lease buffers) {
        this(stores, retry, cache, recordSize, maxInFlight, buffers, Duration.ofMinutes(10));
    }

    /** As above, with the backoff time each file may spend retrying over all of its ranges. */
    public ChunkSplitReader(
            ObjectStores stores,
            RetryPolicy retry,
            LocalCache cache,
            int recordSize,
            int maxInFlight,
            BufferPool.Lease buffers,
            Duration budgetPerFile) {
        this.budgetPerFile = budgetPerFile;
        this.buffers = buffers;
        this.stores = stores;
        this.retry = retry;
        this.cache = cache;
        this.recordSize = recordSize;
        this.maxInFlight = Math.max(1, maxInFlight);
        this.chunkBuffers = ChunkBuffers.shared(recordSize);
        this.pool = Executors.newFixedThreadPool(this.maxInFlight, ChunkSplitReader::daemon);
    }

    /**
     * Reads a split's bytes from staging files kept on this host for a restore when they hold it,
     * verified ({@link KeptBytes}), instead of the origin.
     *
     * @param stagingArea this host's staging area, or null to always read the origin
     */
    public ChunkSplitReader withKeptStagingFiles(Path stagingArea) {
        this.kept = stagingArea == null ? null : new KeptBytes(stagingArea);
        return this;
    }

    /**
     * Reads a file this host's cache lacks from a peer's cache that holds the same version, checked
     * per tensor while staged ({@link PeerCopies}), before the origin.
     *
     * @param peers the peers, or null to read the origin
     * @param spread spreads files over the peers (this reader's subtask index)
     */
    public ChunkSplitReader withPeers(PeerCopies peers, int spread) {
        this.peers = peers;
        this.spread = spread;
        return this;
    }

    /** Where this reader's bytes, retries and fetch times are counted. */
    public ChunkSplitReader withMetrics(ReaderMetrics metrics) {
        this.metrics = metrics;
        return this;
    }

    @Override
    public RecordsWithSplitIds<ChunkRecord> fetch() throws IOException {
        Object next;
        try {
            launch();
            if (inFlight == 0 && !queue.isEmpty()) {
                return new RecordsBySplits.Builder<ChunkRecord>().build(); // pool dry: retry
            }
            next = done.poll(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for ranged reads", e);
        }
        RecordsBySplits.Builder<ChunkRecord> out = new RecordsBySplits.Builder<>();
        if (next instanceof Fetched f) {
            inFlight--;
            for (ChunkRecord r : f.records()) {
                out.add(f.split().splitId(), r);
            }
            out.addFinishedSplit(f.split().splitId());
        }
        return out.build();
    }

    @Override
    public void handleSplitsChanges(SplitsChange<ChunkSplit> change) {
        if (!(change instanceof SplitsAddition)) {
            throw new UnsupportedOperationException("unsupported split change " + change);
        }
        queue.addAll(change.splits());
    }

    @Override
    public void wakeUp() {
        done.offer(WAKE_UP);
    }

    @Override
    public void close() throws Exception {
        pool.shutdownNow();
        stores.close();
        if (peers != null) {
            peers.close();
        }
        if (kept != null) {
            kept.close();
        }
    }

    /** Starts reads while fewer than the maximum run and the pool has room for the next split. */
    private void launch() throws InterruptedException {
        while (inFlight < maxInFlight && !queue.isEmpty()) {
            long wait = inFlight == 0 ? 100 : 0;
            if (!buffers.tryAcquire(queue.peek(), wait)) {
                if (inFlight == 0 && System.nanoTime() - lastDryWarning > 10_000_000_000L) {
                    lastDryWarning = System.nanoTime();
                    LOG.warn(
                            "Buffer pool dry: {} KiB free, this reader holds {} KiB; waiting",
                            buffers.pool().freeKib(),
                            buffers.heldKib());
                }
                return;
            }
            ChunkSplit split = queue.poll();
            inFlight++;
            pool.execute(() -> done.add(new Fetched(split, read(split))));
        }
    }

    /** Reads one split into records; a failure becomes one failure record. */
    List<ChunkRecord> read(ChunkSplit split) {
        if (split instanceof DataSplit d) {
            return read(d);
        }
        if (split instanceof FailureSplit f) {
            return List.of(failure(f));
        }
        return List.of(release((ReleaseSplit) split));
    }

    private List<ChunkRecord> read(DataSplit split) {
        if (split.length() == 0 || failedFiles.contains(split.file())) {
            return List.of(); // nothing left (a split restored after its last record was emitted)
        }
        Source from = null;
        try {
            from = source(split);
            return readRange(split, from);
        } catch (Exception e) {
            if (Thread.currentThread().isInterrupted()) {
                return List.of();
            }
            // The source this read used, not the file's current one: several splits of a file
            // are read at once, and each that fails on a copy falls back, whichever fails first.
            if (from != null && from.kind() != Kind.ORIGIN) {
                // The copy went away or changed under this reader (another slot found it corrupt
                // and replaced it, it was evicted, or its peer is gone): the origin has the same
                // version.
                Source origin = Source.origin(split);
                if (sources.replace(split.file(), from, origin)) {
                    LOG.info(
                            "Reading {} from the origin: its {} copy {} failed ({})",
                            Redaction.uri(URI.create(split.uri())),
                            from.kind() == Kind.PEER ? "peer's" : "cached",
                            from.uri(),
                            Redaction.text(e.toString()));
                }
                try {
                    return readRange(split, origin);
                } catch (Exception again) {
                    if (Thread.currentThread().isInterrupted()) {
                        return List.of();
                    }
                    e = again;
                }
            }
            failedFiles.add(split.file());
            Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
            return List.of(failure(split, ErrorDescription.of(cause)));
        }
    }

    private List<ChunkRecord> readRange(DataSplit split, Source from) throws IOException {
        long started = System.nanoTime();
        if (from.kind() != Kind.CACHE && kept != null && kept.covers(split)) {
            List<ChunkRecord> local = readKept(split);
            if (local != null) {
                return local;
            }
        }
        List<ChunkRecord> records = new ArrayList<>();
        long pos;
        try {
            // A local file (file:// or a cache hit) is read a record at a time with positional
            // reads into the pooled buffers; a remote object through one stream per split.
            pos = isLocal(from.uri()) ? split.offset() : readOneStream(from, split, records);
        } catch (IOException | RuntimeException e) {
            releaseAll(records);
            throw e;
        }
        if (pos < split.end() && !isLocal(from.uri())) {
            metrics.resumedReads.inc();
        }
        for (; pos < split.end(); ) {
            int n = (int) Math.min(recordSize, split.end() - pos);
            ChunkBuffer buffer = chunkBuffers.take();
            try {
                ByteBuffer dst = buffer.memory().limit(n);
                RangeReads.readFully(
                        store(from),
                        from.uri(),
                        from.version(),
                        pos,
                        n,
                        dst,
                        retry,
                        // a budget per source: a copy that fails often must not spend the
                        // retries the origin fallback needs
                        budgets.computeIfAbsent(
                                from.kind() == Kind.ORIGIN ? split.uri() : from.uri().toString(),
                                f ->
                                        new FileRetryBudget(
                                                f,
                                                budgetPerFile,
                                                metrics.counting(Sleeper.system()))));
            } catch (IOException | RuntimeException e) {
                buffer.release();
                releaseAll(records);
                throw e;
            }
            records.add(record(split, pos, buffer, n, from.kind() == Kind.CACHE));
            pos += n;
        }
        if (!records.isEmpty()) {
            from.expecting(records.get(0));
        }
        (switch (from.kind()) {
                    case CACHE -> metrics.bytesFromCache;
                    case PEER -> metrics.bytesFromPeer;
                    case ORIGIN -> metrics.bytesFromOrigin;
                })
                .inc(split.length());
        metrics.splitsRead.inc();
        metrics.splitFetchMillis.update((System.nanoTime() - started) / 1_000_000);
        return records;
    }

    /**
     * Reads the split through one ranged request (one stream per split), a record at a time. Stops
     * at the first failure: the caller fetches the rest with retries from the returned offset, so
     * only the missing bytes are read again.
     *
     * @return the offset of the first byte not read
     */
    private long readOneStream(Source from, DataSplit split, List<ChunkRecord> records)
            throws IOException {
        long pos = split.offset();
        try (InputStream in =
                store(from).openRange(from.uri(), from.version(), pos, split.length())) {
            while (pos < split.end()) {
                int n = (int) Math.min(recordSize, split.end() - pos);
                ChunkBuffer buffer = chunkBuffers.take();
                boolean full;
                try {
                    full = fill(in, buffer.memory().limit(n));
                } catch (IOException | RuntimeException e) {
                    buffer.release();
                    throw e;
                }
                if (!full) {
                    buffer.release();
                    return pos;
                }
                records.add(record(split, pos, buffer, n, from.kind() == Kind.CACHE));
                pos += n;
            }
        } catch (StorageException e) {
            if (!e.retryable()) {
                throw e;
            }
        } catch (InterruptedIOException e) {
            throw e;
        } catch (IOException e) {
            // a reset or short body: resumed with retries from pos
        }
        return pos;
    }

    /**
     * Reads a split from this host's kept staging files ({@link KeptBytes}); null if a read there
     * fails (the caller reads it from the origin).
     */
    private List<ChunkRecord> readKept(DataSplit split) {
        List<ChunkRecord> records = new ArrayList<>();
        for (long pos = split.offset(); pos < split.end(); ) {
            int n = (int) Math.min(recordSize, split.end() - pos);
            ChunkBuffer buffer = chunkBuffers.take();
            if (!kept.read(split, pos, buffer.memory().limit(n))) {
                buffer.release();
                releaseAll(records);
                return null;
            }
            records.add(record(split, pos, buffer, n, false));
            pos += n;
        }
        metrics.bytesFromStaging.inc(split.length());
        metrics.splitsRead.inc();
        return records;
    }

    /**
     * Where a split's bytes come from: this host's verified cached copy (a local file, pinned to
     * its own size and modification time) when there is one, else a peer's copy of the same version
     * ({@link #withPeers}), else the origin at the pinned version. Decided once per file, so all of
     * a file's splits on this reader agree.
     */
    private Source source(DataSplit split) throws IOException {
        Source known = sources.get(split.file());
        if (known == null) {
            URI uri = URI.create(split.uri());
            known = cachedCopy(uri, split.version());
            if (known == null && peers != null) {
                known =
                        peers.find(uri, split.version(), spread)
                                .map(
                                        p ->
                                                new Source(
                                                        p.data(),
                                                        p.version(),
                                                        Kind.PEER,
                                                        p.entry().headerCrc32c().intValue(),
                                                        p.entry().tensorCrcs()))
                                .orElse(null);
            }
            if (known == null) {
                known = Source.origin(split);
            }
            sources.put(split.file(), known);
        }
        return known;
    }

    /** This host's verified copy of {@code uri} at {@code version}, or null. */
    private Source cachedCopy(URI uri, ObjectVersion version) throws IOException {
        if (cache == null) {
            return null;
        }
        Optional<LocalCache.CachedCopy> local = cache.find(uri, version);
        if (local.isEmpty()) {
            return null;
        }
        URI file = local.get().data().toUri();
        CacheEntry e = local.get().entry();
        ObjectVersion v = stores.forUri(file).stat(file);
        return e.checkableWhileStaged()
                ? new Source(file, v, Kind.CACHE, e.headerCrc32c().intValue(), e.tensorCrcs())
                : new Source(file, v, Kind.CACHE, null, null);
    }

    /** The store that reads {@code from}: a peer's copy through the peers' own store. */
    private ObjectStore store(Source from) throws IOException {
        return from.kind() == Kind.PEER ? peers.store() : stores.forUri(from.uri());
    }

    private static boolean isLocal(URI uri) {
        return uri.getScheme() == null || "file".equals(uri.getScheme());
    }

    /** Where a file's bytes are read from. */
    private enum Kind {
        /** The origin. */
        ORIGIN,
        /** This host's cache. */
        CACHE,
        /** A peer host's cache ({@link PeerCopies}). */
        PEER
    }

    /**
     * A location and the version every read of it is pinned to; for a copy checked while it is
     * staged, the checksums it must have (else null).
     */
    private record Source(
            URI uri,
            ObjectVersion version,
            Kind kind,
            Integer expectedHeaderCrc,
            int[] expectedCrcs) {

        /** The origin of {@code split}'s file at its pinned version. */
        static Source origin(DataSplit split) {
            return new Source(URI.create(split.uri()), split.version(), Kind.ORIGIN, null, null);
        }

        /** Marks the first record of a split with what staging checks the copy against. */
        ChunkRecord expecting(ChunkRecord r) {
            r.expectedHeaderCrc = expectedHeaderCrc;
            r.expectedCrcs = expectedCrcs;
            return r;
        }
    }

    /**
     * Fills {@code dst} from {@code in}: through the channel where the stream is one (a local file:
     * no copy on the heap), else through this thread's scratch array.
     *
     * @return false if the stream ended first
     */
    private static boolean fill(InputStream in, ByteBuffer dst) throws IOException {
        if (in instanceof java.nio.channels.ReadableByteChannel ch) {
            while (dst.hasRemaining()) {
                if (ch.read(dst) < 0) {
                    return false;
                }
            }
            return true;
        }
        byte[] scratch = SCRATCH.get();
        while (dst.hasRemaining()) {
            int n = in.read(scratch, 0, Math.min(scratch.length, dst.remaining()));
            if (n < 0) {
                return false;
            }
            dst.put(scratch, 0, n);
        }
        return true;
    }

    private static final ThreadLocal<byte[]> SCRATCH =
            ThreadLocal.withInitial(() -> new byte[256 << 10]);

    private static void releaseAll(List<ChunkRecord> records) {
        records.forEach(ChunkRecord::releaseBuffer);
        records.clear();
    }

    private static ChunkRecord record(
            DataSplit s, long pos, ChunkBuffer buffer, int length, boolean hit) {
        ChunkRecord r = base(s);
        r.offset = pos;
        r.data = buffer.memory().limit(length).slice();
        r.buffer = buffer;
        r.cacheHit = hit;
        return r;
    }

    /** The one record of a data split whose file failed while it was read. */
    private static ChunkRecord failure(DataSplit s, String error) {
        ChunkRecord r = base(s);
        r.offset = s.offset();
        r.error = error;
        return r;
    }

    private static ChunkRecord base(DataSplit s) {
        ChunkRecord r = new ChunkRecord();
        r.target = s.target();
        r.model = s.model();
        r.modelFiles = s.modelFiles();
        r.modelBytes = s.modelBytes();
        r.file = s.uri();
        r.fileSize = s.version().size();
        r.etag = s.version().etag();
        r.headerEnd = s.headerEnd();
        r.cacheOwner = s.destinations().get(0).cacheOwner();
        if (!s.skipTensors().isEmpty()) {
            r.skipTensors = s.skipTensors().toArray(new String[0]);
        }
        return r;
    }

    /** The one record of a file that failed to plan. */
    private static ChunkRecord failure(FailureSplit s) {
        ChunkRecord r = new ChunkRecord();
        r.target = s.target();
        r.model = s.model();
        r.modelFiles = s.modelFiles();
        r.modelBytes = s.modelBytes();
        r.file = s.uri();
        r.error = s.error();
        return r;
    }

    private static ChunkRecord release(ReleaseSplit s) {
        ChunkRecord r = new ChunkRecord();
        r.target = s.target();
        r.model = s.model();
        r.release = true;
        return r;
    }

    private static Thread daemon(Runnable r) {
        Thread t = new Thread(r, "warmstage-range-read");
        t.setDaemon(true);
        return t;
    }

    private record Fetched(ChunkSplit split, List<ChunkRecord> records) {}
}
