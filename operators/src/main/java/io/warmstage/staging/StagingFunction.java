package io.warmstage.staging;

import io.warmstage.cache.CacheOp;
import io.warmstage.cache.ContentPins;
import io.warmstage.cache.LocalCache;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import io.warmstage.source.ChunkRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Stages chunks into device memory: one subtask is one slot with one device. Keyed by target.
 *
 * <p>For each file it allocates the data section on the device on the first chunk, copies every
 * chunk to its offset, and emits a {@code tensor} event (with the CRC-32C of the bytes as they sit
 * in device memory) as soon as all of a tensor's bytes have landed there, then a {@code file}
 * event, then a {@code model} event once all of the model's files are done on this slot ({@link
 * FileStager}, {@link LandingReporter}). Chunks also go to the {@link #CACHE_OPS} side output when
 * this slot writes the file into its host's cache ({@link CacheFeed}).
 *
 * <p>Checkpoints hold, per slot, the files staged, the byte ranges and tensors of files partly
 * staged, and each model's file counts ({@link StagingProgress}, {@link SlotState}); device memory
 * is not checkpointed. After a restore, the first chunk of a partly staged file makes the slot read
 * that file's already-staged ranges again from storage (pinned to the same version, {@link
 * Refiller}), so the lost device memory is refilled, and tensors reported before the checkpoint are
 * not reported again; on the cpu device, staging files kept on the host are adopted instead ({@link
 * Adoption}, {@link KeptFiles}).
 *
 * <p>A bad file (its header invalid, its read failed, the device out of memory) fails that file
 * only: its device memory is freed, its cache entry aborted, and the model reported failed.
 */
public class StagingFunction extends KeyedProcessFunction<Integer, ChunkRecord, StagingEvent>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    /** Side output: chunk bytes and commit/abort markers for the cache writer. */
    public static final OutputTag<CacheOp> CACHE_OPS =
            new OutputTag<>("cache-ops", TypeInformation.of(CacheOp.class));

    private final Configuration config;
    private final boolean cacheOn;

    private transient SlotEnvironment env;
    private transient SlotState state;
    private transient FileStager stager;
    private transient LandingReporter reporter;
    private transient CacheFeed cache;
    private transient Refiller refiller;
    private transient SlotResidents residents;
    private transient ListState<StagingProgress> checkpointed;
    private transient List<StagingProgress> restored;

    /** Whether a checkpoint was taken or restored: a later restore may adopt kept files. */
    private transient boolean restorable;

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
        env = SlotEnvironment.open(config, getRuntimeContext(), this::openDevice);
        var metrics = new StagingMetrics(getRuntimeContext().getMetricGroup());
        var events = new SlotEvents(env.slot, env.device.name(), env.host);
        reporter =
                new LandingReporter(
                        env.device,
                        config.get(StagingOptions.VERIFY),
                        ContentPins.of(config),
                        events,
                        metrics);
        LocalCache local =
                env.cacheDir.isEmpty() ? null : LocalCache.open(Path.of(env.cacheDir), config);
        cache = new CacheFeed(cacheOn, env.slot, env.cacheDir, local);
        refiller = new Refiller(config);
        residents = new SlotResidents(env.slot, config.get(StagingOptions.KEEP_RESIDENT));
        state = new SlotState();
        var adoption = new Adoption(env, residents, metrics);
        stager =
                new FileStager(
                        env, state, events, metrics, reporter, cache, refiller, adoption,
                        residents);
        if (restored != null) {
            state.restore(restored, adoption::adoptStaged);
            restored = null;
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        checkpointed =
                ctx.getOperatorStateStore()
                        .getUnionListState(
                                new ListStateDescriptor<>(
                                        "staging-progress",
                                        TypeInformation.of(StagingProgress.class)));
        if (ctx.isRestored()) {
            restorable = true;
            int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            restored = new ArrayList<>();
            for (StagingProgress p : checkpointed.get()) {
                if (p.slot == me) {
                    restored.add(p);
                }
            }
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        restorable = true;
        checkpointed.update(state.snapshot(env.slot));
    }

    @Override
    public void processElement(ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws Exception {
        try {
            stager.process(r, output(ctx, out));
        } finally {
            r.releaseReceived(); // a record from the network: what it holds is ours to give back
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<StagingEvent> out) {
        reporter.onTimer(timestamp, state.openFiles(), output(ctx, out));
    }

    /**
     * Opens this slot's device ({@link Devices#openForSlot}); tests substitute a device here.
     *
     * @param spec the {@link StagingOptions#DEVICE} setting
     * @param slotGpu the slot's GPU choice, built only when a GPU is opened
     */
    protected Device openDevice(String spec, Devices.SlotGpuSource slotGpu) throws DeviceException {
        return Devices.openForSlot(spec, slotGpu);
    }

    /**
     * Frees what the slot holds, or, when it was cut short and a restore may follow (a checkpoint
     * was taken or restored), keeps its staging files on the host for the restored slot to adopt.
     */
    @Override
    public void close() throws Exception {
        if (cache != null) {
            cache.close();
        }
        boolean ended = true;
        if (state != null) {
            KeptFiles.keepOrFree(env.slot, env.device, state.drainOpen(), restorable);
            boolean cutShort = restorable && state.unfinished();
            residents.close(cutShort, env.device);
            ended = !cutShort;
        }
        if (env != null) {
            env.close(config.get(StagingOptions.KEEP_RESIDENT), ended);
        }
        if (refiller != null) {
            refiller.close();
        }
    }

    private SlotOutput output(Context ctx, Collector<StagingEvent> out) {
        return new SlotOutput(out::collect, op -> ctx.output(CACHE_OPS, op), ctx.timerService());
    }
}
