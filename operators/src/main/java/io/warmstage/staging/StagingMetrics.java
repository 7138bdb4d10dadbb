package io.warmstage.staging;

import io.warmstage.source.ChunkRecord;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;

/**
 * A staging slot's metrics: counters in the slot's group ({@code bytesStaged} and its meter {@code
 * bytesStagedPerSecond}, {@code chunksStaged}, {@code tensorsStaged}, {@code filesStaged}, {@code
 * filesFailed}, {@code filesFromCache}, {@code bytesAdopted}, {@code cachedCopiesRejected}) and
 * per-model gauges in {@code model.<name>}: {@code bytesStaged} and {@code bytesToStage} (bytes of
 * the current version staged, bytes of all of the model's files); both start again when a refresh
 * stages a new version, and are 0 after a release.
 */
final class StagingMetrics {
    private final MetricGroup group;
    private final Counter bytes;
    private final Counter chunks;
    private final Counter tensors;
    private final Counter filesFailed;
    private final Counter filesStaged;
    private final Counter filesFromCache;
    private final Counter bytesAdopted;
    private final Counter cacheMismatches;
    private final Map<String, ModelBytes> models = new HashMap<>();

    /** Bytes of a model's current version staged on this slot, and its total; 0 once released. */
    private static final class ModelBytes {
        volatile long staged;
        volatile long total;
    }

    StagingMetrics(MetricGroup group) {
        this.group = group;
        bytes = group.counter("bytesStaged");
        group.meter("bytesStagedPerSecond", new MeterView(bytes));
        chunks = group.counter("chunksStaged");
        tensors = group.counter("tensorsStaged");
        filesFailed = group.counter("filesFailed");
        filesStaged = group.counter("filesStaged");
        filesFromCache = group.counter("filesFromCache");
        bytesAdopted = group.counter("bytesAdopted");
        cacheMismatches = group.counter("cachedCopiesRejected");
    }

    /** A chunk staged: its bytes count for the slot and its model. */
    void chunkStaged(ChunkRecord r) {
        bytes.inc(r.length());
        model(r.model, r.modelBytes).staged += r.length();
        chunks.inc();
    }

    /** A new round of {@code model} begins (its first chunk, or a refresh's new version). */
    void modelStarted(String model, long modelBytes) {
        model(model, modelBytes).staged = 0;
    }

    /** {@code model}'s memory was released on this slot: its gauges read 0. */
    void modelReleased(String model) {
        ModelBytes m = models.get(model);
        if (m != null) {
            m.staged = 0;
            m.total = 0;
        }
    }

    void tensorReported() {
        tensors.inc();
    }

    /** A file staged; {@code fromCache}: every byte came from this host's cache. */
    void fileStaged(boolean fromCache) {
        filesStaged.inc();
        if (fromCache) {
            filesFromCache.inc();
        }
    }

    void fileFailed() {
        filesFailed.inc();
    }

    /** Bytes of a kept staging file taken over after a restore instead of read again. */
    void bytesAdopted(long n) {
        bytesAdopted.inc(n);
    }

    void cachedCopyRejected() {
        cacheMismatches.inc();
    }

    private ModelBytes model(String model, long total) {
        ModelBytes m =
                models.computeIfAbsent(
                        model,
                        name -> {
                            var g = group.addGroup("model", name);
                            ModelBytes mb = new ModelBytes();
                            g.gauge("bytesStaged", () -> mb.staged);
                            g.gauge("bytesToStage", () -> mb.total);
                            return mb;
                        });
        if (total > 0) {
            m.total = total;
        }
        return m;
    }
}
