package io.warmstage.source.reader;

import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the host memory that chunk bytes take between storage and staging, per job and JVM (one
 * TaskManager): a reader starts a ranged read only when the split's bytes fit in the pool, and
 * gives them back once the split's last record has been emitted into staging. When staging is
 * slower than fetching, the pool runs dry and readers wait: backpressure, whatever the model's
 * size.
 *
 * <p>Accounting is in KiB. A split larger than the whole pool takes the whole pool, so it can still
 * run, alone.
 */
public final class BufferPool {
    private static final Map<String, BufferPool> SHARED = new ConcurrentHashMap<>();

    private final int capacityKib;
    private final Semaphore free;

    private BufferPool(long capacityBytes) {
        this.capacityKib = (int) Math.min(Integer.MAX_VALUE, Math.max(1, capacityBytes >> 10));
        this.free = new Semaphore(capacityKib, true);
    }

    /**
     * The pool of one job in this JVM: every reader of the job in this TaskManager shares it, and a
     * job never waits on bytes another job holds.
     *
     * @param jobKey identifies the job (the source's id)
     */
    public static BufferPool shared(String jobKey, long capacityBytes) {
        return SHARED.computeIfAbsent(
                jobKey + "\n" + capacityBytes, k -> new BufferPool(capacityBytes));
    }

    /** Forgets the pool of a job once its last reader in this JVM has closed. */
    static void forget(BufferPool pool) {
        SHARED.values().removeIf(p -> p == pool && p.free.availablePermits() == p.capacityKib);
    }

    /** A new pool, not shared: for tests. */
    static BufferPool create(long capacityBytes) {
        return new BufferPool(capacityBytes);
    }

    /** KiB a split holds while in flight: its length rounded up, at most the whole pool. */
    int kibFor(ChunkSplit split) {
        if (!(split instanceof DataSplit data)) {
            return 0;
        }
        long kib = (data.length() + 1023) >> 10;
        return (int) Math.min(capacityKib, kib);
    }

    /** KiB free now. */
    public long freeKib() {
        return free.availablePermits();
    }

    /** Pool size in KiB. */
    public long capacityKib() {
        return capacityKib;
    }

    /** One reader's holdings, all given back when the reader closes. */
    public Lease lease() {
        return new Lease();
    }

    /** The part of the pool one reader holds. */
    public final class Lease {
        private final AtomicLong held = new AtomicLong();

        private Lease() {}

        /**
         * Takes the split's bytes if they are free, waiting at most {@code waitMillis}.
         *
         * @return true if taken
         */
        boolean tryAcquire(ChunkSplit split, long waitMillis) throws InterruptedException {
            int kib = kibFor(split);
            if (kib == 0 || free.tryAcquire(kib, waitMillis, TimeUnit.MILLISECONDS)) {
                held.addAndGet(kib);
                return true;
            }
            return false;
        }

        /** Gives back what {@link #tryAcquire} took for {@code split}. */
        void release(ChunkSplit split) {
            int kib = kibFor(split);
            if (kib > 0) {
                held.addAndGet(-kib);
                free.release(kib);
            }
        }

        /** The pool this lease takes from. */
        BufferPool pool() {
            return BufferPool.this;
        }

        /** KiB this reader holds. */
        long heldKib() {
            return held.get();
        }

        /** Gives back everything still held (reader closed, job cancelled or failed). */
        void releaseAll() {
            long kib = held.getAndSet(0);
            if (kib > 0) {
                free.release((int) kib);
            }
            forget(BufferPool.this);
        }
    }
}
