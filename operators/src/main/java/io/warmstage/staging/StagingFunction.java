package io.warmstage.staging;

import io.warmstage.cache.CacheOp;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import io.warmstage.device.SlotGpu;
import io.warmstage.format.TensorInfo;
import io.warmstage.source.ChunkRecord;
import io.warmstage.source.enumerator.ModelPlanner;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Stages chunks into device memory: one subtask is one slot with one device. Keyed by target.
 *
 * <p>For each file it allocates the data section on the device on the first chunk, copies every
 * chunk to its offset, and emits a {@code tensor} event (with the CRC-32C of the bytes as they sit
 * in device memory) as soon as all of a tensor's bytes are there, then a {@code file} event, then a
 * {@code model} event once all of the model's files are done on this slot. Chunks also go to the
 * {@link #CACHE_OPS} side output when this slot writes the file into its host's cache.
 *
 * <p>A bad file (its header invalid, its read failed, the device out of memory) fails that file
 * only: its device memory is freed, its cache entry aborted, and the model reported failed.
 */
public class StagingFunction extends KeyedProcessFunction<Integer, ChunkRecord, StagingEvent> {
    private static final long serialVersionUID = 1L;

    /** Side output: chunk bytes and commit/abort markers for the cache writer. */
    public static final OutputTag<CacheOp> CACHE_OPS =
            new OutputTag<>("cache-ops", TypeInformation.of(CacheOp.class));

    private final Configuration config;
    private final boolean cacheOn;

    private transient Device device;
    private transient int slot;
    private transient boolean verify;
    private transient boolean keepResident;
    private transient Map<String, StagingFile> open;
    private transient Set<String> finished;
    private transient Map<String, ModelProgress> models;
    private transient Counter bytes;
    private transient Counter chunks;
    private transient Counter tensors;
    private transient Counter filesFailed;

    /**
     * @param config {@link StagingOptions}
     * @param cacheOn whether the host cache is on (chunks go to the side output)
     */
    public StagingFunction(Configuration config, boolean cacheOn) {
        this.config = new Configuration(config);
        this.cacheOn = cacheOn;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        slot = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        var gpus = getRuntimeContext().getExternalResourceInfos("gpu");
        device =
                Devices.openForSlot(
                        config.get(StagingOptions.DEVICE),
                        () -> SlotGpu.forSlot(gpus, slot, config));
        verify = config.get(StagingOptions.VERIFY);
        keepResident = config.get(StagingOptions.KEEP_RESIDENT);
        open = new HashMap<>();
        finished = new HashSet<>();
        models = new HashMap<>();
        var group = getRuntimeContext().getMetricGroup();
        bytes = group.counter("bytesStaged");
        group.meter("bytesStagedPerSecond", new MeterView(bytes));
        chunks = group.counter("chunksStaged");
        tensors = group.counter("tensorsStaged");
        filesFailed = group.counter("filesFailed");
    }

    @Override
    public void processElement(ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws Exception {
        String key = r.model + "\n" + r.file;
        if (finished.contains(key)) {
            return;
        }
        models.computeIfAbsent(r.model, m -> new ModelProgress(r.modelFiles));
        if (r.isFailure()) {
            fail(key, r.file, r.model, r.error, ctx, out);
            return;
        }
        try {
            StagingFile f = open.get(key);
            if (f == null) {
                f = new StagingFile(r, device.allocate(r.fileSize - r.headerEnd));
                open.put(key, f);
            }
            stage(f, r, ctx, out);
        } catch (Exception e) {
            fail(key, r.file, r.model, ModelPlanner.describe(e), ctx, out);
        }
    }

    @Override
    public void close() throws Exception {
        if (open != null) {
            open.values().forEach(f -> f.data.close());
            open.clear();
        }
        if (device != null) {
            if (keepResident) {
                Devices.releaseClaim(device); // memory stays; the GPU may be claimed again
            } else {
                device.close();
            }
        }
    }

    private void stage(StagingFile f, ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws Exception {
        List<TensorInfo> done = f.accept(r);
        bytes.inc(r.length());
        chunks.inc();
        if (cacheOn && f.cacheOwner && !r.cacheHit) {
            ctx.output(CACHE_OPS, CacheOp.write(slot, f.uriObject, f.version, r.offset, r.data));
            f.markCacheWritten();
        }
        for (TensorInfo t : done) {
            out.collect(tensorEvent(f, t));
            tensors.inc();
        }
        if (f.complete()) {
            finish(f, r, ctx, out);
        }
    }

    private void finish(StagingFile f, ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws DeviceException {
        f.data.synchronize();
        String key = f.model + "\n" + f.uri;
        open.remove(key);
        finished.add(key);
        if (f.cacheWritten()) {
            ctx.output(CACHE_OPS, CacheOp.commit(slot, f.uriObject, f.version, null));
        }
        StagingEvent e = event(StagingEvent.FILE, f.model, f.uri);
        e.bytes = f.fileSize;
        e.tensors = f.reportedTensors();
        e.status = "staged";
        e.cache = !cacheOn ? "off" : f.allFromCache() ? "hit" : "miss";
        out.collect(e);
        if (keepResident) {
            ResidentSet.put(new ResidentSet.Entry(slot, f.uri, f.header(), f.data));
        } else {
            f.data.close();
        }
        modelDone(f.model, f.fileSize, false, null, out);
    }

    private void fail(
            String key,
            String uri,
            String model,
            String reason,
            Context ctx,
            Collector<StagingEvent> out) {
        finished.add(key);
        StagingFile f = open.remove(key);
        if (f != null) {
            f.data.close();
            if (f.cacheWritten()) {
                ctx.output(CACHE_OPS, CacheOp.abort(slot, f.uriObject, f.version, reason));
            }
        }
        filesFailed.inc();
        StagingEvent e = event(StagingEvent.FILE, model, uri);
        e.status = "failed";
        e.cache = cacheOn ? "miss" : "off";
        e.reason = reason;
        out.collect(e);
        modelDone(model, 0, true, reason, out);
    }

    private void modelDone(
            String model,
            long fileBytes,
            boolean failed,
            String reason,
            Collector<StagingEvent> out) {
        ModelProgress p = models.get(model);
        p.fileDone(fileBytes, failed, reason);
        if (p.done()) {
            StagingEvent e = event(StagingEvent.MODEL, model, null);
            e.status = p.failed > 0 ? "failed" : "staged";
            e.bytes = p.bytes;
            e.seconds = (System.nanoTime() - p.startNanos) / 1e9;
            e.reason = p.reason;
            out.collect(e);
        }
    }

    private StagingEvent tensorEvent(StagingFile f, TensorInfo t) throws DeviceException {
        StagingEvent e = event(StagingEvent.TENSOR, f.model, f.uri);
        e.tensor = t.name();
        e.dtype = t.dtype().name();
        e.shape = t.shape();
        e.bytes = t.byteSize();
        if (verify) {
            e.crc32c = StagingEvent.hex(f.data.crc32c(t.begin(), t.byteSize()));
        }
        return e;
    }

    private StagingEvent event(String kind, String model, String file) {
        StagingEvent e = new StagingEvent();
        e.event = kind;
        e.slot = slot;
        e.device = device.name();
        e.model = model;
        e.file = file;
        return e;
    }

    /** Files of one model done on this slot. */
    private static final class ModelProgress {
        final int expected;
        final long startNanos = System.nanoTime();
        int staged;
        int failed;
        long bytes;
        String reason;

        ModelProgress(int expected) {
            this.expected = expected;
        }

        void fileDone(long fileBytes, boolean fail, String why) {
            if (fail) {
                failed++;
                reason = reason == null ? why : reason;
            } else {
                staged++;
                bytes += fileBytes;
            }
        }

        boolean done() {
            return staged + failed == expected;
        }
    }
}
