package io.warmstage.source.reader;

import io.warmstage.storage.Sleeper;
import java.time.Duration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * A reader's metrics, shown per source subtask in the Flink Web UI and REST API:
 *
 * <ul>
 *   <li>{@code bytesFromOrigin}, {@code bytesFromCache}, {@code bytesFromPeer} (read from a peer
 *       host's cache, {@code warmstage.cache.peers}), {@code bytesFromStaging} (read from staging
 *       files this host kept for a restore) (counters, bytes) and {@code bytesFetchedPerSecond}
 *       (meter, origin, cache and peers);
 *   <li>{@code splitsRead}: data splits this reader read, from the origin, the cache or kept
 *       staging files (counter);
 *   <li>{@code splitFetchMillis}: time to read one split (histogram, milliseconds);
 *   <li>{@code rangeRetries}: retries of ranged reads after a transient fault, and {@code
 *       resumedReads}: split reads resumed after a cut or stalled body (counters).
 * </ul>
 */
public final class ReaderMetrics {
    final Counter bytesFromOrigin;
    final Counter bytesFromCache;
    final Counter bytesFromPeer;
    final Counter bytesFromStaging;
    final Counter rangeRetries;
    final Counter resumedReads;
    final Counter splitsRead;
    final Histogram splitFetchMillis;

    private ReaderMetrics(
            Counter origin,
            Counter cache,
            Counter peer,
            Counter staging,
            Counter retries,
            Counter resumed,
            Counter splits,
            Histogram latency) {
        this.bytesFromOrigin = origin;
        this.bytesFromCache = cache;
        this.bytesFromPeer = peer;
        this.bytesFromStaging = staging;
        this.rangeRetries = retries;
        this.resumedReads = resumed;
        this.splitsRead = splits;
        this.splitFetchMillis = latency;
    }

    /** Registers the metrics in {@code group} (a source reader's metric group). */
    public static ReaderMetrics register(MetricGroup group) {
        Counter origin = group.counter("bytesFromOrigin");
        Counter cache = group.counter("bytesFromCache");
        Counter peer = group.counter("bytesFromPeer");
        group.meter("bytesFetchedPerSecond", new MeterView(new SumCounter(origin, cache, peer)));
        return new ReaderMetrics(
                origin,
                cache,
                peer,
                group.counter("bytesFromStaging"),
                group.counter("rangeRetries"),
                group.counter("resumedReads"),
                group.counter("splitsRead"),
                group.histogram("splitFetchMillis", new DescriptiveStatisticsHistogram(1000)));
    }

    /** Metrics nobody reads (tests, the library API). */
    public static ReaderMetrics unregistered() {
        return new ReaderMetrics(
                new SimpleCounter(),
                new SimpleCounter(),
                new SimpleCounter(),
                new SimpleCounter(),
                new SimpleCounter(),
                new SimpleCounter(),
                new SimpleCounter(),
                new DescriptiveStatisticsHistogram(16));
    }

    /** {@code delegate}, counting every wait (one per retry) in {@code rangeRetries}. */
    Sleeper counting(Sleeper delegate) {
        return new Sleeper() {
            @Override
            public void sleep(Duration duration) throws InterruptedException {
                rangeRetries.inc();
                delegate.sleep(duration);
            }

            @Override
            public long nanoTime() {
                return delegate.nanoTime();
            }
        };
    }

    /** A read-only view of the sum of two counters (for the meter). */
    private static final class SumCounter implements Counter {
        private final Counter[] parts;

        SumCounter(Counter... parts) {
            this.parts = parts;
        }

        @Override
        public void inc() {}

        @Override
        public void inc(long n) {}

        @Override
        public void dec() {}

        @Override
        public void dec(long n) {}

        @Override
        public long getCount() {
            long sum = 0;
            for (Counter c : parts) {
                sum += c.getCount();
            }
            return sum;
        }
    }
}
