package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.registry.KeptSegments;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ResourceHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery adopts instead of refetching: a slot cut short keeps its partly staged file, and the
 * slot restored from the checkpoint on the same host continues it, reading again from the origin
 * only the header (held on the heap until publish), never the data bytes the checkpoint covers.
 */
class StagingAdoptionTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    @TempDir Path stagingDir;

    private final ConcurrentLinkedQueue<String> ranges = new ConcurrentLinkedQueue<>();
    private Server origin;
    private String uri;

    @BeforeEach
    void serve() throws Exception {
        origin = new Server();
        ServerConnector c = new ServerConnector(origin);
        c.setHost("127.0.0.1");
        origin.addConnector(c);
        ResourceHandler files = new ResourceHandler();
        files.setBaseResource(ResourceFactory.of(origin).newResource(PEFT.getParent().toUri()));
        files.getResourceService().setEtags(true);
        origin.setHandler(
                new Handler.Wrapper(files) {
                    @Override
                    public boolean handle(Request req, Response resp, Callback cb)
                            throws Exception {
                        String range = req.getHeaders().get("Range");
                        if ("GET".equals(req.getMethod()) && range != null) {
                            ranges.add(range);
                        }
                        return super.handle(req, resp, cb);
                    }
                });
        origin.start();
        uri = "http://127.0.0.1:" + c.getLocalPort() + "/" + PEFT.getFileName();
    }

    @AfterEach
    void stop() throws Exception {
        origin.stop();
        ResidentSet.releaseAll();
    }

    /** The test file in 30,000-byte records, as its origin {@link #uri} serves it (its ETag). */
    private List<ChunkRecord> originRecords() throws Exception {
        return StagingFunctionTest.originRecords(PEFT, uri, "peft", 30_000);
    }

    @Test
    void aRestoredSlotContinuesItsKeptFileAndRefetchesOnlyTheHeader() throws Exception {
        restoreAndCheck(false);
    }

    @Test
    void aRestoredSlotAdoptsTheTempFileOfAProcessThatDied() throws Exception {
        restoreAndCheck(true); // close() never runs: the file keeps its temp name
    }

    @Test
    void withTheCacheOnARestoredSlotReadsWhatItHadStagedAgainInsteadOfAdoptingIt()
            throws Exception {
        // Its kept file may hold a cached copy's bytes that were not checked yet.
        restoreAndCheck(false, true);
    }

    private void restoreAndCheck(boolean crash) throws Exception {
        restoreAndCheck(crash, false);
    }

    private void restoreAndCheck(boolean crash, boolean cacheOn) throws Exception {
        List<ChunkRecord> records = originRecords();
        int cut = records.size() / 2;
        JobID job = new JobID();

        var first = harness(job, cacheOn);
        first.open();
        for (ChunkRecord r : records.subList(0, cut)) {
            first.processElement(r, 0);
        }
        OperatorSubtaskState checkpoint = first.snapshot(1, 0);
        List<StagingEvent> before = first.extractOutputValues(); // up to the checkpoint
        first.processElement(records.get(cut), 0); // staged after the checkpoint: sent again
        if (!crash) {
            first.close(); // the slot is cut short
            try (Stream<Path> kept = Files.walk(stagingDir)) {
                assertThat(kept.filter(p -> p.getFileName().toString().endsWith(".kept")))
                        .as("the partly staged file is kept")
                        .hasSize(1);
            }
        }

        var second = harness(job, cacheOn);
        second.initializeState(checkpoint);
        second.open();
        for (ChunkRecord r : records.subList(cut, records.size())) {
            second.processElement(r, 0);
        }
        List<StagingEvent> after = second.extractOutputValues();

        long headerEnd = HeaderParser.read(PEFT).dataStart();
        assertThat(ranges).as("origin reads after the restore").isNotEmpty();
        long beyondHeader =
                ranges.stream()
                        .filter(r -> Long.parseLong(r.substring(r.indexOf('-') + 1)) >= headerEnd)
                        .count();
        if (cacheOn) {
            assertThat(beyondHeader).as("staged data read again, not adopted").isPositive();
        } else {
            assertThat(beyondHeader).as("only header ranges read again: %s", ranges).isZero();
        }
        Map<String, String> reported = new TreeMap<>();
        for (StagingEvent e : before) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                reported.put(e.tensor, e.crc32c);
            }
        }
        for (StagingEvent e : after) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                assertThat(reported.put(e.tensor, e.crc32c)).as("reported once").isNull();
            }
        }
        Map<String, String> reference = StagingFunctionTest.referenceCrcs(PEFT);
        assertThat(reported).isEqualTo(new TreeMap<>(reference));
        assertThat(after)
                .filteredOn(e -> StagingEvent.FILE.equals(e.event))
                .singleElement()
                .satisfies(e -> assertThat(e.status).isEqualTo("staged"));

        StagedEntry entry = StagedSet.at(stagingDir).entries().get(0);
        assertThat(Files.readAllBytes(Path.of(entry.file()))).isEqualTo(Files.readAllBytes(PEFT));
        assertThat(
                        entry.tensors().stream()
                                .collect(
                                        Collectors.toMap(StagedTensor::name, StagedTensor::crc32c)))
                .isEqualTo(reference);
        second.close();
        try (Stream<Path> left = Files.walk(stagingDir)) {
            assertThat(left.filter(p -> p.getFileName().toString().contains(".kept")))
                    .as("nothing kept once the file is done")
                    .isEmpty();
        }
    }

    @Test
    void aSlotCutShortRecordsWhatItsKeptFileHoldsWithEachRangesCrc() throws Exception {
        List<ChunkRecord> records = StagingFunctionTest.chunks(PEFT, "peft", 30_000, false);
        int cut = records.size() / 2;
        var first = harness(new JobID());
        first.open();
        first.processElement(records.get(0), 0);
        first.snapshot(1, 0); // a restore may follow: the slot keeps what it holds
        for (ChunkRecord r : records.subList(1, cut)) {
            first.processElement(r, 0);
        }
        first.close();

        Path kept;
        try (Stream<Path> files = Files.walk(stagingDir)) {
            kept = files.filter(p -> p.toString().endsWith(".kept")).findFirst().orElseThrow();
        }
        KeptSegments record =
                KeptSegments.read(KeptSegments.recordOf(kept)).orElseThrow(AssertionError::new);
        assertThat(record.uri()).isEqualTo(records.get(0).file);
        assertThat(record.size()).isEqualTo(Files.size(PEFT));
        assertThat(record.etag()).isEqualTo("v1");

        byte[] origin = Files.readAllBytes(PEFT);
        byte[] held = Files.readAllBytes(kept);
        long headerEnd = HeaderParser.read(PEFT).dataStart();
        long received = (long) cut * 30_000; // chunks [0, cut) arrived, contiguous from byte 0
        assertThat(record.segments().get(0))
                .containsExactly(0, headerEnd, crc(origin, 0, headerEnd));
        long covered = 0;
        for (long[] seg : record.segments()) {
            assertThat(seg[1]).isLessThanOrEqualTo(received);
            assertThat(java.util.Arrays.copyOfRange(held, (int) seg[0], (int) seg[1]))
                    .as("kept bytes [%d, %d)", seg[0], seg[1])
                    .isEqualTo(java.util.Arrays.copyOfRange(origin, (int) seg[0], (int) seg[1]));
            assertThat(seg[2]).isEqualTo(crc(origin, seg[0], seg[1]));
            covered += seg[1] - seg[0];
        }
        assertThat(covered).as("every byte received is listed once").isEqualTo(received);
    }

    private static long crc(byte[] bytes, long from, long to) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, (int) from, (int) (to - from));
        return crc.getValue();
    }

    @Test
    void aRestoredSlotKeepsItsStagedFilesListedAndFreesThemAtTheEnd() throws Exception {
        List<ChunkRecord> records = StagingFunctionTest.chunks(PEFT, "peft", 100_000, false);
        records.forEach(r -> r.modelFiles = 2); // the model's other file is still to come
        JobID job = new JobID();
        var first = harness(job);
        first.open();
        for (ChunkRecord r : records) {
            first.processElement(r, 0);
        }
        OperatorSubtaskState checkpoint = first.snapshot(1, 0);
        StagedEntry staged = StagedSet.at(stagingDir).entries().get(0);
        first.close(); // cut short: the model is not done
        assertThat(StagedSet.at(stagingDir).entries()).containsExactly(staged);
        assertThat(Path.of(staged.file())).exists();

        var second = harness(job);
        second.initializeState(checkpoint);
        second.open();
        assertThat(StagedSet.at(stagingDir).findOnHost(staged.uri())).contains(staged);
        ChunkRecord failed = records.get(0).copy();
        failed.file = records.get(0).file.replace(".safetensors", "-2.safetensors");
        failed.error = "not found";
        second.processElement(failed, 0); // the model ends (failed) on this slot
        assertThat(second.extractOutputValues())
                .filteredOn(e -> StagingEvent.TENSOR.equals(e.event))
                .as("nothing staged again")
                .isEmpty();
        second.close(); // the job's end: withdrawn, then freed
        assertThat(StagedSet.at(stagingDir).entries()).isEmpty();
        assertThat(Path.of(staged.file())).doesNotExist();
    }

    @Test
    void aSlotThatEndsRemovesWhatSlotsGoneElsewhereLeftOnItsHost() throws Exception {
        JobID job = new JobID();
        Path orphan = Files.createDirectories(stagingDir.resolve("job-" + job).resolve("slot-1"));
        Path kept = Files.write(orphan.resolve(".abc.safetensors.kept"), new byte[100]);
        Path published = Files.copy(PEFT, orphan.resolve("def.safetensors"));
        StagedSet set = StagedSet.at(stagingDir);
        Path entry =
                set.publish(
                        new StagedEntry(
                                StagedEntry.FORMAT,
                                "http://h/m.safetensors",
                                Files.size(PEFT),
                                "v1",
                                "m",
                                "host",
                                job.toString(),
                                1,
                                "cpu",
                                1,
                                java.time.Instant.now().toString(),
                                published.toString(),
                                HeaderParser.read(PEFT).dataStart(),
                                null,
                                List.of()));

        var slot0 = harness(job);
        slot0.open();
        for (ChunkRecord r : StagingFunctionTest.chunks(PEFT, "peft", 100_000, false)) {
            slot0.processElement(r, 0);
        }
        assertThat(kept).as("nothing swept while the slot runs").exists();
        slot0.close(); // its job ends here
        assertThat(entry).doesNotExist();
        assertThat(published).doesNotExist();
        assertThat(kept).doesNotExist();
        assertThat(orphan).doesNotExist();
        assertThat(set.entries()).isEmpty();
    }

    @Test
    void aCheckpointNeverCountsBytesStillOnTheirWayToTheStagingFile() throws Exception {
        // The process dies right after a checkpoint, its staging writes still queued: the
        // restored slot adopts the temp file as holding what the checkpoint says.
        List<ChunkRecord> records = originRecords();
        int cut = records.size() / 2;
        int pooledFrom = cut - 3; // writes that fit in a lane without waiting for room
        io.warmstage.memory.ChunkBuffers pool =
                new io.warmstage.memory.ChunkBuffers(30_000, 64L << 20);
        java.util.concurrent.CountDownLatch writersFree =
                new java.util.concurrent.CountDownLatch(1);
        Path elsewhere = Files.createTempDirectory("writers-held");
        var blockers = new io.warmstage.device.HostDevice(elsewhere);
        JobID job = new JobID();
        try {
            holdEveryStagingWriter(blockers, writersFree);
            var first = harness(job);
            first.open();
            for (int i = 0; i < cut; i++) {
                ChunkRecord r = records.get(i);
                if (i < pooledFrom) {
                    first.processElement(r, 0);
                    continue;
                }
                ChunkRecord pooled = r.copy(); // as a reader emits it: bytes in a pooled buffer
                pooled.buffer = pool.take();
                pooled.data = pooled.buffer.memory().put(r.bytes()).flip().slice();
                first.processElement(pooled, 0);
                pooled.releaseBuffer();
            }
            java.util.concurrent.CompletableFuture<OperatorSubtaskState> snapshot =
                    new java.util.concurrent.CompletableFuture<>();
            Thread taker =
                    new Thread(
                            () -> {
                                try {
                                    snapshot.complete(first.snapshot(1, 0));
                                } catch (Throwable t) {
                                    snapshot.completeExceptionally(t);
                                }
                            });
            taker.start();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!snapshot.isDone() && !waitsForStagingWrites(taker)) {
                assertThat(System.nanoTime()).as("snapshot taken").isLessThan(deadline);
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
            if (!snapshot.isDone()) {
                writersFree.countDown(); // the checkpoint waits for the writes: let them land
            }
            OperatorSubtaskState checkpoint = snapshot.get();
            // ... and the process dies here, its queued writes lost: close() never runs

            var second = harness(job);
            second.initializeState(checkpoint);
            second.open();
            for (ChunkRecord r : records.subList(cut, records.size())) {
                second.processElement(r, 0);
            }
            Map<String, String> reported = new TreeMap<>();
            for (StagingEvent e : first.extractOutputValues()) {
                if (StagingEvent.TENSOR.equals(e.event)) {
                    reported.put(e.tensor, e.crc32c);
                }
            }
            for (StagingEvent e : second.extractOutputValues()) {
                if (StagingEvent.TENSOR.equals(e.event)) {
                    assertThat(reported.put(e.tensor, e.crc32c)).as("reported once").isNull();
                }
            }
            assertThat(reported).isEqualTo(new TreeMap<>(StagingFunctionTest.referenceCrcs(PEFT)));
            StagedEntry entry = StagedSet.at(stagingDir).entries().get(0);
            assertThat(Files.readAllBytes(Path.of(entry.file())))
                    .as("the published staging file")
                    .isEqualTo(Files.readAllBytes(PEFT));
            second.close();
        } finally {
            writersFree.countDown();
            blockers.close();
        }
    }

    @Test
    void aFilePinnedBySha256ReportsEveryTensorOnceAcrossARestore() throws Exception {
        // Its tensors' events wait for the whole file to match the pin: a checkpoint in between
        // must not count them sent.
        List<ChunkRecord> records = originRecords();
        String sha =
                java.util.HexFormat.of()
                        .formatHex(
                                java.security.MessageDigest.getInstance("SHA-256")
                                        .digest(Files.readAllBytes(PEFT)));
        Configuration pins = new Configuration();
        pins.set(
                io.warmstage.source.WeightSourceOptions.SHA256_PINS,
                io.warmstage.cache.ContentPins.toJson(Map.of(uri, sha)));
        int cut = records.size() / 2;
        JobID job = new JobID();

        var first = harness(job, false, pins);
        first.open();
        for (ChunkRecord r : records.subList(0, cut)) {
            first.processElement(r, 0);
        }
        OperatorSubtaskState checkpoint = first.snapshot(1, 0);
        List<StagingEvent> before = first.extractOutputValues();
        first.close();

        var second = harness(job, false, pins);
        second.initializeState(checkpoint);
        second.open();
        for (ChunkRecord r : records.subList(cut, records.size())) {
            second.processElement(r, 0);
        }
        Map<String, String> reported = new TreeMap<>();
        for (StagingEvent e : before) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                reported.put(e.tensor, e.crc32c);
            }
        }
        for (StagingEvent e : second.extractOutputValues()) {
            if (StagingEvent.TENSOR.equals(e.event)) {
                assertThat(reported.put(e.tensor, e.crc32c)).as("reported once").isNull();
            }
        }
        assertThat(reported).isEqualTo(new TreeMap<>(StagingFunctionTest.referenceCrcs(PEFT)));
        second.close();
    }

    /** Whether {@code t} waits in a staging file's synchronize (for its queued writes). */
    private static boolean waitsForStagingWrites(Thread t) {
        return t.getState() == Thread.State.WAITING
                && java.util.Arrays.stream(t.getStackTrace())
                        .anyMatch(
                                f ->
                                        f.getClassName().endsWith("HostBuffer")
                                                && f.getMethodName().equals("synchronize"));
    }

    /**
     * Keeps every thread that writes staging files busy until {@code free} opens: each ends up
     * giving back a pooled buffer whose unpinning waits (a stand-in for a process that stops).
     */
    private static void holdEveryStagingWriter(
            io.warmstage.device.HostDevice device, java.util.concurrent.CountDownLatch free)
            throws Exception {
        int writers = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
        Set<Thread> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (held.size() < writers) {
            assertThat(System.nanoTime()).as("writers held").isLessThan(deadline);
            java.util.concurrent.atomic.AtomicBoolean unpinned =
                    new java.util.concurrent.atomic.AtomicBoolean();
            var pool = new io.warmstage.memory.ChunkBuffers(4096, 1);
            var spare = pool.take();
            var owner = pool.take();
            spare.release(); // the pool's one idle place is taken: the owner's memory is freed
            owner.pinnedBy(
                    () -> {
                        unpinned.set(true);
                        if (Thread.currentThread().getName().startsWith("warmstage-staging")) {
                            held.add(Thread.currentThread());
                            try {
                                free.await();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    });
            var lane = device.allocate(16);
            lane.copyFromHost(0, owner.memory().limit(16), owner);
            owner.release(); // the lane's release is usually the last: its writer waits
            while (!unpinned.get()) {
                assertThat(System.nanoTime()).as("buffer given back").isLessThan(deadline);
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        }
    }

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness(
            JobID job) throws Exception {
        return harness(job, false);
    }

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness(
            JobID job, boolean cacheOn) throws Exception {
        return harness(job, cacheOn, new Configuration());
    }

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness(
            JobID job, boolean cacheOn, Configuration extra) throws Exception {
        Configuration conf = new Configuration(extra);
        conf.set(StagingOptions.STAGING_DIR, stagingDir.toString());
        if (cacheOn) {
            conf.set(
                    io.warmstage.source.WeightSourceOptions.CACHE_DIR,
                    stagingDir.resolveSibling(stagingDir.getFileName() + "-cache").toString());
        }
        return new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new StagingFunction(conf, cacheOn)),
                r -> r.target,
                Types.INT,
                new MockEnvironmentBuilder().setJobID(job).setMaxParallelism(128).build());
    }
}
