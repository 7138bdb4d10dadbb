package io.warmstage.staging;

import io.warmstage.cache.CacheOp;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.DeviceLostException;
import io.warmstage.device.Devices;
import io.warmstage.device.HostBuffer;
import io.warmstage.device.HostDevice;
import io.warmstage.device.SlotGpu;
import io.warmstage.device.StagingArea;
import io.warmstage.format.TensorInfo;
import io.warmstage.host.HostDirs;
import io.warmstage.host.HostIdentity;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.registry.KeptSegments;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedGpu;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.ChunkRecord;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.RangeReads;
import io.warmstage.storage.Redaction;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MeterView;
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
 * in device memory) as soon as all of a tensor's bytes are there, then a {@code file} event, then a
 * {@code model} event once all of the model's files are done on this slot. Chunks also go to the
 * {@link #CACHE_OPS} side output when this slot writes the file into its host's cache.
 *
 * <p>Checkpoints hold, per slot, the files staged, the byte ranges and tensors of files partly
 * staged, and each model's file counts ({@link StagingProgress}); device memory is not
 * checkpointed. After a restore, the first chunk of a partly staged file makes the slot read that
 * file's already-staged ranges again from storage (pinned to the same version), so the lost device
 * memory is refilled, and tensors reported before the checkpoint are not reported again.
 *
 * <p>A bad file (its header invalid, its read failed, the device out of memory) fails that file
 * only: its device memory is freed, its cache entry aborted, and the model reported failed.
 */
public class StagingFunction extends KeyedProcessFunction<Integer, ChunkRecord, StagingEvent>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(StagingFunction.class);

    /** Side output: chunk bytes and commit/abort markers for the cache writer. */
    public static final OutputTag<CacheOp> CACHE_OPS =
            new OutputTag<>("cache-ops", TypeInformation.of(CacheOp.class));

    private final Configuration config;
    private final boolean cacheOn;

    private transient Device device;
    private transient int slot;
    private transient String host;
    private transient String cacheDir;
    private transient Object claimant;
    private transient io.warmstage.cache.LocalCache localCache;
    private transient boolean verify;
    private transient boolean keepResident;
    private transient java.util.Map<String, String> sha256Pins;
    private transient Map<String, StagingFile> open;
    private transient Set<String> finished;
    private transient Map<String, ModelProgress> models;
    private transient Counter bytes;
    private transient Counter chunks;
    private transient Counter tensors;
    private transient Counter filesFailed;
    private transient Counter filesStaged;
    private transient Counter filesFromCache;
    private transient Counter bytesAdopted;
    private transient Counter cacheMismatches;

    /** How soon, in milliseconds, tensors whose copies are in flight are looked at again. */
    private static final long LANDING_POLL_MS = 10;

    /** The processing time of the timer registered for tensors in flight, or Long.MIN_VALUE. */
    private transient long landingTimer;

    /** Whether a checkpoint was taken or restored: a later restore may adopt kept files. */
    private transient boolean snapshotTaken;

    private transient boolean restoredOnce;
    private transient Map<String, ModelMetrics> modelMetrics;
    private transient ListState<StagingProgress> checkpointed;
    private transient List<StagingProgress> restored;
    private transient Map<String, StagingProgress> restoredPartial;
    private transient ObjectStores stores;

    /** Files staged by this slot and kept until the job ends (without keep-resident), by URI. */
    private transient Map<String, ResidentSet.Entry> staged;

    private transient StagedSet stagedSet;
    private transient String jobId;

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
        landingTimer = Long.MIN_VALUE;
        slot = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        HostIdentity hostId =
                HostIdentity.of(getRuntimeContext().getMetricGroup().getAllVariables(), config);
        host = hostId.name();
        cacheDir = HostDirs.cacheDir(config, hostId).map(java.nio.file.Path::toString).orElse("");
        claimant = new Object();
        sha256Pins = io.warmstage.cache.ContentPins.of(config);
        localCache =
                cacheDir.isEmpty()
                        ? null
                        : io.warmstage.cache.LocalCache.open(
                                java.nio.file.Path.of(cacheDir), config);
        jobId = getRuntimeContext().getJobInfo().getJobId().toString();
        StagingArea area = stagingArea(hostId);
        stagedSet = new StagedSet(area);
        var gpus = getRuntimeContext().getExternalResourceInfos("gpu");
        String spec = config.get(StagingOptions.DEVICE).trim();
        boolean cpu =
                spec.equals("cpu")
                        || (spec.equals("auto") && !Devices.cudaAvailability().available());
        device =
                cpu
                        ? new HostDevice(stagingDir(area), area)
                        : openDevice(spec, () -> SlotGpu.forSlot(gpus, slot, config));
        staged = new HashMap<>();
        if (device instanceof HostDevice host) {
            java.nio.file.Path jobDir = host.directory().getParent();
            sweepDeadJobs(jobDir.getParent(), jobDir);
        }
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
        filesStaged = group.counter("filesStaged");
        filesFromCache = group.counter("filesFromCache");
        bytesAdopted = group.counter("bytesAdopted");
        cacheMismatches = group.counter("cachedCopiesRejected");
        modelMetrics = new HashMap<>();
        restoredPartial = new HashMap<>();
        if (restored != null) {
            restore(restored);
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
            restoredOnce = true;
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
        snapshotTaken = true;
        List<StagingProgress> out = new ArrayList<>();
        for (String key : finished) {
            String[] k = key.split("\n", -1);
            StagingProgress p = new StagingProgress();
            p.kind = StagingProgress.FILE_DONE;
            p.slot = slot;
            p.model = k[0];
            p.uri = k[1];
            p.fileSize = Long.parseLong(k[2]);
            p.etag = "null".equals(k[3]) ? null : k[3];
            out.add(p);
        }
        for (StagingFile f : open.values()) {
            StagingProgress p = new StagingProgress();
            p.kind = StagingProgress.FILE_PARTIAL;
            p.slot = slot;
            p.model = f.model;
            p.uri = f.uri;
            p.fileSize = f.fileSize;
            p.etag = f.version.etag();
            // The ranges recorded must be in the staging file, not queued on their way: a process
            // that dies after the checkpoint leaves the file for the restored slot to adopt.
            f.data.synchronize();
            p.ranges = f.ranges();
            java.util.BitSet reported = f.reportedSet();
            reported.andNot(f.awaitingSet()); // not sent yet: reported again after a restore
            reported.andNot(f.heldSet()); // held for the pin check: not sent either
            p.reported = reported.toLongArray();
            p.crcs = f.reportedCrcs();
            p.skip = f.skipped().toArray(new String[0]);
            out.add(p);
        }
        out.addAll(restoredPartial.values()); // partly staged, not refilled yet
        models.forEach(
                (name, m) -> {
                    StagingProgress p = new StagingProgress();
                    p.kind = StagingProgress.MODEL;
                    p.slot = slot;
                    p.model = name;
                    p.modelFiles = m.expected;
                    p.staged = m.staged;
                    p.failed = m.failed;
                    p.bytes = m.bytes;
                    p.reason = m.reason;
                    p.startMillis = m.startMillis;
                    out.add(p);
                });
        checkpointed.update(out);
    }

    private void restore(List<StagingProgress> entries) {
        for (StagingProgress p : entries) {
            switch (p.kind) {
                case StagingProgress.FILE_DONE -> {
                    finished.add(key(p.model, p.uri, p.fileSize, p.etag));
                    adoptDone(p);
                }
                case StagingProgress.FILE_PARTIAL ->
                        restoredPartial.put(key(p.model, p.uri, p.fileSize, p.etag), p);
                case StagingProgress.MODEL -> {
                    ModelProgress m = new ModelProgress(p.modelFiles, p.startMillis);
                    m.staged = p.staged;
                    m.failed = p.failed;
                    m.bytes = p.bytes;
                    m.reason = p.reason;
                    models.put(p.model, m);
                }
                default -> throw new IllegalStateException("unknown staging state " + p.kind);
            }
        }
    }

    /**
     * The host's staging area: {@code <staging dir>[/<simulated host>]}, with the configured group
     * and cap. It holds the staged set's registry and, for the cpu device, the staging files.
     */
    private StagingArea stagingArea(HostIdentity hostId) {
        return new StagingArea(
                HostDirs.stagingRoot(config, hostId),
                config.getOptional(StagingOptions.STAGING_GROUP).orElse(null),
                config.getOptional(StagingOptions.STAGING_MAX_SIZE)
                        .map(MemorySize::getBytes)
                        .orElse(Long.MAX_VALUE));
    }

    /**
     * After a restore: takes over the published staging file of a file the checkpoint records as
     * staged, when it is still on this host with its staged-set entry and every tensor's CRC-32C
     * matches the entry, so that it stays listed and is freed at the job's end. A file that does
     * not match is withdrawn and deleted.
     */
    private void adoptDone(StagingProgress p) {
        if (!(device instanceof HostDevice hd) || ResidentSet.get(slot, p.uri) != null) {
            return; // not a staging file, or still resident in this JVM
        }
        String recorded = Redaction.stagedUri(URI.create(p.uri));
        var entryPath = stagedSet.entryOf(recorded, p.fileSize, p.etag, jobId, slot, device.name());
        var entry = entryPath.flatMap(StagedSet::readEntry);
        if (entry.isEmpty()) {
            return;
        }
        StagedEntry e = entry.get();
        ResidentSet.Entry adopted = null;
        try {
            var buffer =
                    hd.adoptPublished(
                            stagingName(p.uri, p.fileSize, p.etag),
                            e.dataStart(),
                            e.size() - e.dataStart());
            if (buffer.isEmpty()) {
                StagedSet.withdraw(entryPath.get());
                return;
            }
            var header = io.warmstage.format.HeaderParser.read(buffer.get().path());
            adopted =
                    new ResidentSet.Entry(
                            slot, p.model, p.uri, header, buffer.get(), entryPath.get());
            if (!matches(header, e, buffer.get())) {
                throw new DeviceException("its bytes do not match its staged-set entry");
            }
        } catch (Exception ex) {
            LOG.warn("slot {}: staged file of {} not adopted: {}", slot, recorded, ex.toString());
            if (adopted != null) {
                adopted.free();
            }
            return;
        }
        if (keepResident) {
            ResidentSet.put(adopted);
        } else {
            staged.put(p.uri, adopted);
        }
        LOG.info("slot {}: adopted staged file of {} ({} bytes)", slot, recorded, p.fileSize);
    }

    private static boolean matches(
            io.warmstage.format.SafetensorsHeader h,
            StagedEntry e,
            io.warmstage.device.DeviceBuffer data)
            throws DeviceException {
        List<TensorInfo> tensors = h.tensors();
        if (h.dataStart() != e.dataStart() || tensors.size() != e.tensors().size()) {
            return false;
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            StagedTensor w = e.tensors().get(i);
            if (!t.name().equals(w.name())
                    || t.begin() != w.begin()
                    || t.byteSize() != w.byteSize()
                    || data.crc32c(t.begin(), t.byteSize()) != w.crc32cValue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * This slot's staging directory for the cpu device: {@code <area>/job-<job id>/slot-<n>}, so
     * that jobs and slots never touch each other's files.
     */
    private java.nio.file.Path stagingDir(StagingArea area) {
        return area.root().resolve("job-" + jobId).resolve("slot-" + slot);
    }

    /**
     * Removes what other slots of this job left on this host in directories no live device owns (a
     * slot restored on another host, or a process that died): their staged-set entries first, then
     * their files. Runs when this slot ends.
     */
    /** Marks a job's staging directory as kept on purpose: no later job sweeps it. */
    private static void markKept(java.nio.file.Path jobDir) {
        try {
            java.nio.file.Files.write(jobDir.resolve(KEPT_MARKER), new byte[0]);
        } catch (java.io.IOException e) {
            LOG.warn("cannot mark {} as kept: {}", jobDir, e.toString());
        }
    }

    /** A job directory holding this file was kept on purpose (keep-resident, --keep-staged). */
    static final String KEPT_MARKER = ".kept";

    /**
     * Removes the staging directories of dead jobs of this host: a job directory other than this
     * one whose slots nobody owns (their processes were killed or interrupted before they could
     * clean up), not marked kept, and untouched for a minute (a job that is starting). Their
     * registry entries are withdrawn first.
     */
    private void sweepDeadJobs(java.nio.file.Path root, java.nio.file.Path mine) {
        List<java.nio.file.Path> jobs = new ArrayList<>();
        java.time.Instant young = java.time.Instant.now().minusSeconds(60);
        try (var dirs = java.nio.file.Files.list(root)) {
            for (var d : (Iterable<java.nio.file.Path>) dirs::iterator) {
                if (d.equals(mine)
                        || !d.getFileName().toString().startsWith("job-")
                        || !java.nio.file.Files.isDirectory(d)
                        || java.nio.file.Files.exists(d.resolve(KEPT_MARKER))
                        || java.nio.file.Files.getLastModifiedTime(d).toInstant().isAfter(young)) {
                    continue;
                }
                jobs.add(d);
            }
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return;
        }
        for (var job : jobs) {
            List<java.nio.file.Path> slots = new ArrayList<>();
            try (var dirs = java.nio.file.Files.list(job)) {
                dirs.filter(java.nio.file.Files::isDirectory).forEach(slots::add);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                continue;
            }
            if (slots.stream().anyMatch(HostDevice::owned)) {
                continue; // still running somewhere on this host
            }
            for (var d : slots) {
                removeSlotDir(d);
            }
            try (var rest = java.nio.file.Files.list(job)) {
                for (var f : (Iterable<java.nio.file.Path>) rest::iterator) {
                    java.nio.file.Files.deleteIfExists(f);
                }
                java.nio.file.Files.deleteIfExists(job);
                LOG.info("slot {}: removed the staging files of dead job {}", slot, job);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                LOG.warn(
                        "slot {}: cannot remove staging directory {}: {}", slot, job, e.toString());
            }
        }
    }

    /** Withdraws the registry entries of a slot directory's files, then deletes them. */
    private void removeSlotDir(java.nio.file.Path d) {
        for (StagedEntry e : stagedSet.entries()) {
            if (e.file() != null && java.nio.file.Path.of(e.file()).getParent().equals(d)) {
                stagedSet
                        .entryOf(e.uri(), e.size(), e.etag(), e.job(), e.slot(), e.device())
                        .ifPresent(StagingFunction::withdrawQuietly);
            }
        }
        try (var files = java.nio.file.Files.list(d)) {
            for (var f : (Iterable<java.nio.file.Path>) files::iterator) {
                java.nio.file.Files.deleteIfExists(f);
            }
            java.nio.file.Files.deleteIfExists(d);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            LOG.warn("slot {}: cannot remove staging directory {}: {}", slot, d, e.toString());
        }
    }

    private void sweepOrphans(java.nio.file.Path mine) {
        java.nio.file.Path jobDir = mine.getParent();
        List<java.nio.file.Path> orphans = new ArrayList<>();
        try (var dirs = java.nio.file.Files.list(jobDir)) {
            dirs.filter(d -> !d.equals(mine) && java.nio.file.Files.isDirectory(d))
                    .filter(d -> !HostDevice.owned(d))
                    .forEach(orphans::add);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return;
        }
        for (java.nio.file.Path d : orphans) {
            removeSlotDir(d);
        }
    }

    private static void withdrawQuietly(java.nio.file.Path entry) {
        try {
            StagedSet.withdraw(entry);
        } catch (java.io.IOException e) {
            // its file is deleted next: consumers skip an entry whose file is gone
        }
    }

    private static void deleteIfEmpty(java.nio.file.Path dir) {
        try {
            java.nio.file.Files.deleteIfExists(dir);
        } catch (java.io.IOException e) {
            // not empty: another slot's files, or files kept resident
        }
    }

    /** A staged file's name: a hash of its URI and pinned version, never the raw URI. */
    static String stagingName(String uri, long size, String etag) {
        try {
            byte[] h =
                    java.security.MessageDigest.getInstance("SHA-256")
                            .digest(
                                    (uri + "\n" + size + "\n" + etag)
                                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(h, 0, 16) + ".safetensors";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String key(String model, String uri, long size, String etag) {
        return model + "\n" + uri + "\n" + size + "\n" + etag;
    }

    /**
     * Reads the byte ranges a checkpoint says were staged before a restore, and stages them again
     * into {@code f}'s new device memory (and the cache, when this slot writes it).
     */
    private void refill(
            StagingFile f,
            StagingProgress p,
            boolean adopted,
            ChunkRecord next,
            Context ctx,
            Collector<StagingEvent> out)
            throws Exception {
        f.restoreReported(java.util.BitSet.valueOf(p.reported == null ? new long[0] : p.reported));
        f.restoreCrcs(p.crcs);
        if (stores == null) {
            stores = ObjectStores.create(config);
        }
        URI uri = URI.create(p.uri);
        long[] fetch = p.ranges;
        if (adopted) {
            fetch = adoptDataRanges(f, p.ranges);
        }
        for (int i = 0; i + 1 < fetch.length; i += 2) {
            RangeReads.readPieces(
                    stores.forUri(uri),
                    uri,
                    f.version,
                    fetch[i],
                    fetch[i + 1],
                    4 << 20,
                    stores.retryPolicy(),
                    (off, bytes) -> {
                        ChunkRecord r = next.copy(); // the same file, version and destination
                        r.offset = off;
                        r.withBytes(bytes);
                        r.cacheHit = false;
                        r.expectedHeaderCrc = null;
                        r.expectedCrcs = null;
                        r.skipTensors =
                                off == 0 && p.skip != null && p.skip.length > 0 ? p.skip : null;
                        stage(f, r, ctx, out);
                    });
        }
    }

    /**
     * Marks the data-section parts of a checkpoint's staged ranges as staged in {@code f}, whose
     * adopted staging file holds them; returns the header parts, which live on the heap until the
     * file is published and are read again.
     */
    private long[] adoptDataRanges(StagingFile f, long[] ranges) {
        List<Long> header = new ArrayList<>();
        long adopted = 0;
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            long from = ranges[i];
            long to = ranges[i + 1];
            if (from < f.headerEnd) {
                header.add(from);
                header.add(Math.min(to, f.headerEnd));
            }
            if (to > f.headerEnd) {
                long start = Math.max(from, f.headerEnd);
                f.adopt(start, to);
                adopted += to - start;
            }
        }
        bytesAdopted.inc(adopted);
        LOG.info(
                "slot {}: adopted {} staged bytes of {} from its kept staging file",
                slot,
                adopted,
                Redaction.uri(f.uriObject));
        return header.stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public void processElement(ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws Exception {
        try {
            process(r, ctx, out);
        } finally {
            r.releaseReceived(); // a record from the network: what it holds is ours to give back
        }
    }

    private void process(ChunkRecord r, Context ctx, Collector<StagingEvent> out) throws Exception {
        if (r.release) {
            release(r.model, out);
            return;
        }
        reportLanded(out); // other files' tensors whose copies landed since
        // A refreshing job stages a changed file again: its version is part of the key.
        String key = key(r.model, r.file, r.fileSize, r.etag);
        if (finished.contains(key)) {
            return;
        }
        models.computeIfAbsent(
                r.model,
                m -> {
                    modelMetrics(m, r.modelBytes).staged = 0; // a new round of this model
                    return new ModelProgress(r.modelFiles, System.currentTimeMillis());
                });
        if (r.isFailure()) {
            fail(key, r.file, r.model, r.error, ctx, out);
            return;
        }
        try {
            StagingFile f = open.get(key);
            if (f == null) {
                String name = stagingName(r.file, r.fileSize, r.etag);
                StagingProgress before = restoredPartial.remove(key);
                // With the cache on, a kept file's bytes may come from a cached copy whose
                // unfinished tensors were not checked yet: it is not adopted, the checkpoint's
                // ranges are read again (from the cache, checked, or the origin).
                var kept =
                        before != null && !cacheOn && device instanceof HostDevice hd
                                ? hd.adoptFile(name, r.headerEnd, r.fileSize - r.headerEnd)
                                : java.util.Optional.<HostBuffer>empty();
                f =
                        new StagingFile(
                                r,
                                kept.isPresent()
                                        ? kept.get()
                                        : device.allocateFile(
                                                name, r.headerEnd, r.fileSize - r.headerEnd));
                open.put(key, f);
                if (before != null) {
                    refill(f, before, kept.isPresent(), r, ctx, out);
                    if (f.complete()) {
                        return; // the refill brought the last bytes
                    }
                }
            }
            try {
                stage(f, r, ctx, out);
            } catch (CachedCopyMismatch m) {
                refetch(f, r, key, m, ctx, out);
            }
        } catch (DeviceLostException e) {
            throw e; // the device's context is unusable: fail the task, restart on a fresh one
        } catch (Exception e) {
            fail(key, r.file, r.model, ModelPlanner.describe(e), ctx, out);
        }
    }

    /**
     * Stages {@code f} again, from the origin, after a cached copy it was staged from did not match
     * its cache entry: removes this host's copy, drops the cache write of {@code f} if this slot
     * made one, frees {@code f}'s memory, and reads the whole file from the origin (pinned to the
     * same version) into new memory. Tensors reported before the mismatch matched the entry and are
     * not reported again; the copy's records still to come find the file finished.
     */
    private void refetch(
            StagingFile f,
            ChunkRecord r,
            String key,
            CachedCopyMismatch m,
            Context ctx,
            Collector<StagingEvent> out)
            throws Exception {
        LOG.warn("slot {}: {}: fetching it again from the origin", slot, m.getMessage());
        cacheMismatches.inc();
        if (localCache != null) {
            localCache.reject(f.uriObject, f.version, m.detail());
        }
        if (f.cacheWritten()) {
            ctx.output(CACHE_OPS, CacheOp.abort(slot, f.uriObject, f.version, m.getMessage()));
        }
        java.util.BitSet reported = f.reportedSet();
        reported.andNot(f.awaitingSet()); // not sent yet: reported once the new copy lands
        int[] crcs = f.reportedCrcs();
        String[] skip = f.skipped().toArray(new String[0]);
        f.data.close();
        open.remove(key);
        StagingFile g =
                new StagingFile(
                        r,
                        device.allocateFile(
                                stagingName(r.file, r.fileSize, r.etag),
                                r.headerEnd,
                                r.fileSize - r.headerEnd));
        g.restoreReported(reported);
        g.restoreCrcs(crcs);
        g.held.addAll(f.held);
        // The fresh bytes go into the host's cache in place of the copy, unless this slot's write
        // of the file was under way (then dropped above: a second write of it is not started).
        g.noCacheWrite = f.cacheWritten();
        open.put(key, g);
        if (stores == null) {
            stores = ObjectStores.create(config);
        }
        URI uri = f.uriObject;
        RangeReads.readPieces(
                stores.forUri(uri),
                uri,
                f.version,
                0,
                f.fileSize,
                4 << 20,
                stores.retryPolicy(),
                (off, bytes) -> {
                    ChunkRecord c = r.copy();
                    c.offset = off;
                    c.withBytes(bytes);
                    c.cacheHit = false;
                    c.expectedHeaderCrc = null;
                    c.expectedCrcs = null;
                    c.skipTensors = off == 0 && skip.length > 0 ? skip : null;
                    stage(g, c, ctx, out);
                });
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
     * Whether this slot's host holds a verified copy of {@code f} already (decided once per file,
     * when its first chunk arrives): then nobody writes it. Otherwise every chunk is written,
     * wherever it was read from: in fan-out a chunk may come from another host's cache.
     */
    private boolean hostHas(StagingFile f) {
        if (f.hostHas == null) {
            try {
                f.hostHas =
                        localCache != null && localCache.find(f.uriObject, f.version).isPresent();
            } catch (java.io.IOException | RuntimeException e) {
                f.hostHas = false;
            }
        }
        return f.hostHas;
    }

    /** Whether this slot writes {@code f} into its host's cache: the first on the host does. */
    private boolean claims(StagingFile f) {
        return f.cacheWritten() || CacheClaims.claim(cacheDir, f.uri + "\n" + f.version, claimant);
    }

    @Override
    public void close() throws Exception {
        if (claimant != null) {
            CacheClaims.releaseAll(claimant);
        }
        if (open != null) {
            boolean restorable = snapshotTaken || restoredOnce;
            if (restorable && !open.isEmpty() && device instanceof HostDevice) {
                LOG.info(
                        "slot {}: keeping {} partly staged file(s) for a restore to adopt",
                        slot,
                        open.size());
            }
            for (StagingFile f : open.values()) {
                if (restorable
                        && device instanceof HostDevice hd
                        && f.data instanceof HostBuffer b) {
                    // Files open at close were cut short (a normal end has none): a restored slot
                    // on this host adopts what the checkpoint says they hold.
                    List<long[]> held = heldRanges(f);
                    hd.keep(b, stagingName(f.uri, f.fileSize, f.version.etag()));
                    recordKept(f, held, b.path());
                } else {
                    f.data.close();
                }
            }
            open.clear();
        }
        boolean ended = true;
        if (staged != null) {
            boolean cutShort =
                    (snapshotTaken || restoredOnce)
                            && (!models.isEmpty() || !restoredPartial.isEmpty());
            for (ResidentSet.Entry e : staged.values()) {
                if (cutShort
                        && device instanceof HostDevice hd
                        && e.data() instanceof HostBuffer b) {
                    hd.keep(b, "published"); // stays listed and in place for the restored slot
                } else {
                    e.free(); // entry withdrawn, then memory freed
                }
            }
            staged.clear();
            ended = !cutShort;
        }
        if (device != null) {
            if (keepResident) {
                Devices.releaseClaim(device); // memory stays; the GPU may be claimed again
                if (device instanceof HostDevice host) {
                    markKept(host.directory().getParent());
                }
            } else {
                device.close();
                if (device instanceof HostDevice host) {
                    if (ended) {
                        host.discardKept(); // nothing will adopt them now
                        sweepOrphans(host.directory());
                    }
                    deleteIfEmpty(host.directory());
                    deleteIfEmpty(host.directory().getParent()); // the job's directory
                }
            }
        }
    }

    /** What a file cut short holds, with CRC-32C ({@link StagingFile#heldSegments}); or none. */
    private List<long[]> heldRanges(StagingFile f) {
        try {
            return f.heldSegments();
        } catch (DeviceException | RuntimeException e) {
            LOG.warn("slot {}: cannot checksum what {} holds: {}", slot, f.uri, e.toString());
            return List.of();
        }
    }

    /**
     * Writes beside a kept staging file what it holds ({@link KeptSegments}): after a failover,
     * readers on this host read those ranges from it instead of the origin once they match their
     * CRC-32C, whichever slot is restored here.
     */
    private void recordKept(StagingFile f, List<long[]> held, java.nio.file.Path kept) {
        if (held.isEmpty() || !java.nio.file.Files.isRegularFile(kept)) {
            return;
        }
        try {
            if (held.get(0)[0] == 0) { // the header, which a staging file gets only when published
                try (var ch =
                        java.nio.channels.FileChannel.open(
                                kept, java.nio.file.StandardOpenOption.WRITE)) {
                    var header = java.nio.ByteBuffer.wrap(f.headerBytes());
                    for (long pos = 0; header.hasRemaining(); ) {
                        pos += ch.write(header, pos);
                    }
                }
            }
            new KeptSegments(f.uri, f.fileSize, f.version.etag(), held).writeBeside(kept);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("slot {}: cannot record what {} holds: {}", slot, kept, e.toString());
        }
    }

    private void stage(StagingFile f, ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws Exception {
        List<StagingFile.Done> done = f.accept(r);
        bytes.inc(r.length());
        modelMetrics(r.model, r.modelBytes).staged += r.length();
        chunks.inc();
        if (cacheOn && f.cacheOwner && !f.noCacheWrite && !hostHas(f) && claims(f)) {
            ctx.output(
                    CACHE_OPS,
                    CacheOp.write(slot, f.uriObject, f.version, r.offset, r.bytes(), r.buffer));
            f.markCacheWritten();
        }
        // A tensor is reported once its bytes have landed, not when its copy is queued: the
        // copies run on while the next records are staged, and its event goes out once they are in.
        f.awaitLanding(done);
        if (f.complete()) {
            finish(f, r, ctx, out);
        } else {
            report(f, false, out);
            if (f.awaitingLanding()) {
                awaitLandingTimer(ctx.timerService());
            }
        }
    }

    /** Sends the events of {@code f}'s tensors that have landed ({@code wait}: of all of them). */
    private void report(StagingFile f, boolean wait, Collector<StagingEvent> out)
            throws DeviceException {
        List<StagingFile.Done> landed = f.landed(wait);
        if (landed.isEmpty()) {
            return;
        }
        // A file pinned by SHA-256 reports its tensors only once the whole file matches the pin.
        boolean pinned = io.warmstage.cache.ContentPins.pinOf(sha256Pins, f.uri) != null;
        for (StagingFile.Done t : landed) {
            StagingEvent e = tensorEvent(f, t);
            if (pinned) {
                f.held.add(e);
            } else {
                out.collect(e);
                tensors.inc();
            }
        }
    }

    /**
     * Sends the events of every open file's landed tensors. A file whose copy failed is left as it
     * is: the failure surfaces when its own next record or its completion is staged.
     *
     * @return whether tensors still wait for their copies
     */
    private boolean reportLanded(Collector<StagingEvent> out) {
        boolean waiting = false;
        for (StagingFile f : open.values()) {
            try {
                report(f, false, out);
            } catch (DeviceException e) {
                continue;
            }
            waiting |= f.awaitingLanding();
        }
        return waiting;
    }

    /** Wakes this function soon to report tensors whose copies are still in flight. */
    private void awaitLandingTimer(org.apache.flink.streaming.api.TimerService timers) {
        if (landingTimer == Long.MIN_VALUE) {
            landingTimer = timers.currentProcessingTime() + LANDING_POLL_MS;
            timers.registerProcessingTimeTimer(landingTimer);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<StagingEvent> out)
            throws Exception {
        if (timestamp != landingTimer) {
            return;
        }
        landingTimer = Long.MIN_VALUE;
        if (reportLanded(out)) {
            awaitLandingTimer(ctx.timerService());
        }
    }

    private void finish(StagingFile f, ChunkRecord r, Context ctx, Collector<StagingEvent> out)
            throws DeviceException {
        report(f, true, out);
        String key = key(f.model, f.uri, f.fileSize, f.version.etag());
        String pin = io.warmstage.cache.ContentPins.pinOf(sha256Pins, f.uri);
        String wrong =
                pin == null ? null : Sha256Check.mismatch(f.uri, f.headerBytes(), f.data, pin);
        if (wrong != null) {
            fail(key, f.uri, f.model, wrong, ctx, out); // never published: the temp file goes
            return;
        }
        f.publish();
        for (StagingEvent held : f.held) {
            out.collect(held);
            tensors.inc();
        }
        f.held.clear();
        java.nio.file.Path entry = register(f);
        open.remove(key);
        finished.add(key);
        if (f.cacheWritten()) {
            // The checksums computed from the bytes staged (and written): the writer need not
            // read its copy back.
            List<StagingFile.Done> all = f.allTensors();
            int[] crcs = new int[all.size()];
            for (int i = 0; i < crcs.length; i++) {
                crcs[i] = all.get(i).crc32c();
            }
            ctx.output(
                    CACHE_OPS,
                    CacheOp.commit(
                            slot,
                            f.uriObject,
                            f.version,
                            io.warmstage.memory.Crc32c.of(
                                    java.nio.ByteBuffer.wrap(f.headerBytes())),
                            crcs));
        }
        StagingEvent e = event(StagingEvent.FILE, f.model, f.uri);
        e.bytes = f.fileSize;
        e.tensors = f.reportedTensors();
        e.status = "staged";
        boolean hit = cacheOn && (f.allFromCache() || hostHas(f));
        e.cache = !cacheOn ? "off" : hit ? "hit" : "miss";
        out.collect(e);
        filesStaged.inc();
        if (hit) {
            filesFromCache.inc();
        }
        var resident = new ResidentSet.Entry(slot, f.model, f.uri, f.header(), f.data, entry);
        if (keepResident) {
            ResidentSet.put(resident); // an older version is withdrawn, then freed
        } else {
            ResidentSet.Entry old = staged.put(f.uri, resident); // stays until the job ends
            if (old != null && old.data() != f.data) {
                old.free();
            }
        }
        modelDone(f.model, f.fileSize, false, null, out);
    }

    /**
     * Publishes a complete file's entry in the host's staged set, after every tensor is verified:
     * each tensor with its CRC-32C, and where the bytes are (the staging file, or the GPU and an
     * IPC handle). A file on a device that gives no handle is not listed: no other process could
     * open it.
     *
     * @return the entry's path, or null when not listed
     * @throws DeviceException if the entry cannot be written (the file then fails)
     */
    private java.nio.file.Path register(StagingFile f) throws DeviceException {
        List<StagedTensor> tensors = new ArrayList<>();
        for (StagingFile.Done d : f.allTensors()) {
            TensorInfo t = d.tensor();
            List<Long> shape = java.util.Arrays.stream(t.shape()).boxed().toList();
            tensors.add(
                    new StagedTensor(
                            t.name(),
                            t.dtype().name(),
                            shape,
                            List.of(t.begin(), t.end()),
                            StagingEvent.hex(d.crc32c())));
        }
        String file = f.data instanceof HostBuffer hb ? hb.path().toString() : null;
        StagedGpu gpu = null;
        if (file == null) {
            var handle = f.data.ipcHandle();
            if (handle.isEmpty()) {
                return null;
            }
            gpu =
                    new StagedGpu(
                            ordinal(device.name()),
                            device.gpuUuid().orElse(null),
                            HexFormat.of().formatHex(handle.get()));
        }
        StagedEntry e =
                new StagedEntry(
                        StagedEntry.FORMAT,
                        Redaction.stagedUri(f.uriObject),
                        f.fileSize,
                        f.version.etag(),
                        f.model,
                        host,
                        jobId,
                        slot,
                        device.name(),
                        ProcessHandle.current().pid(),
                        java.time.Instant.now().toString(),
                        file,
                        f.headerEnd,
                        gpu,
                        tensors);
        try {
            return stagedSet.publish(e);
        } catch (java.io.IOException | RuntimeException ex) {
            throw new DeviceException(
                    f.uri
                            + ": cannot publish its entry in the staged set "
                            + stagedSet.directory()
                            + ": "
                            + ex,
                    ex);
        }
    }

    /** The ordinal of a device named {@code cuda:N}, else 0. */
    private static int ordinal(String deviceName) {
        int colon = deviceName.indexOf(':');
        return colon < 0 ? 0 : Integer.parseInt(deviceName.substring(colon + 1));
    }

    private void fail(
            String key,
            String uri,
            String model,
            String reason,
            Context ctx,
            Collector<StagingEvent> out) {
        finished.add(key);
        restoredPartial.remove(key);
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
            models.remove(model); // a refresh may stage a new version of it
            StagingEvent e = event(StagingEvent.MODEL, model, null);
            e.status = p.failed > 0 ? "failed" : "staged";
            e.bytes = p.bytes;
            e.seconds = (System.currentTimeMillis() - p.startMillis) / 1e3;
            e.reason = p.reason;
            out.collect(e);
        }
    }

    private void release(String model, Collector<StagingEvent> out) {
        long freed = ResidentSet.release(slot, model);
        for (var it = staged.values().iterator(); it.hasNext(); ) {
            ResidentSet.Entry e = it.next();
            if (e.model().equals(model)) {
                freed += e.data().size();
                e.free();
                it.remove();
            }
        }
        ModelMetrics mm = modelMetrics.get(model);
        if (mm != null) {
            mm.staged = 0;
            mm.total = 0;
        }
        finished.removeIf(k -> k.startsWith(model + "\n"));
        StagingEvent e = event(StagingEvent.RELEASE, model, null);
        e.status = "released";
        e.bytes = freed;
        out.collect(e);
    }

    /**
     * A tensor event with the CRC-32C of the tensor's bytes as they were copied to the device. With
     * {@link StagingOptions#VERIFY} on a device other than cpu (whose staging files are written by
     * the kernel from the same bytes), the tensor is also read back from the device and must match.
     */
    private StagingEvent tensorEvent(StagingFile f, StagingFile.Done d) throws DeviceException {
        TensorInfo t = d.tensor();
        StagingEvent e = event(StagingEvent.TENSOR, f.model, f.uri);
        e.tensor = t.name();
        e.dtype = t.dtype().name();
        e.shape = t.shape();
        e.bytes = t.byteSize();
        e.crc32c = StagingEvent.hex(d.crc32c());
        if (verify && !(device instanceof HostDevice)) {
            int onDevice = f.data.crc32c(t.begin(), t.byteSize());
            if (onDevice != d.crc32c()) {
                throw new DeviceException(
                        f.uri
                                + ": tensor "
                                + t.name()
                                + " reads back from "
                                + device.name()
                                + " with CRC-32C "
                                + StagingEvent.hex(onDevice)
                                + ", copied with "
                                + e.crc32c);
            }
        }
        return e;
    }

    private StagingEvent event(String kind, String model, String file) {
        StagingEvent e = new StagingEvent();
        e.event = kind;
        e.slot = slot;
        e.device = device.name();
        e.host = host;
        e.at = System.currentTimeMillis();
        e.model = model;
        e.file = file;
        return e;
    }

    /**
     * Per-model metrics of this slot, in the metric group {@code model.<name>}: {@code bytesStaged}
     * and {@code bytesToStage} (gauges: bytes of the current version staged, bytes of all of the
     * model's files), in bytes; both start again when a refresh stages a new version, and are 0
     * after a release.
     */
    private ModelMetrics modelMetrics(String model, long total) {
        ModelMetrics m =
                modelMetrics.computeIfAbsent(
                        model,
                        name -> {
                            var g = getRuntimeContext().getMetricGroup().addGroup("model", name);
                            ModelMetrics mm = new ModelMetrics();
                            g.gauge("bytesStaged", () -> mm.staged);
                            g.gauge("bytesToStage", () -> mm.total);
                            return mm;
                        });
        if (total > 0) {
            m.total = total;
        }
        return m;
    }

    /** Bytes of the model's current version staged on this slot, and its total; 0 once released. */
    private static final class ModelMetrics {
        volatile long staged;
        volatile long total;
    }

    /** Files of one model done on this slot. */
    private static final class ModelProgress {
        final int expected;
        final long startMillis;
        int staged;
        int failed;
        long bytes;
        String reason;

        ModelProgress(int expected, long startMillis) {
            this.expected = expected;
            this.startMillis = startMillis;
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
