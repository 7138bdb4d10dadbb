package io.warmstage.staging;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.cache.CacheOp;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.source.ChunkRecord;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StagingFunctionTest {
    private static final Path PEFT =
            SharedData.real()
                    .resolve("anirudh-ak_peft-gpt2__model__lora_model__adapter_model.safetensors");

    private KeyedOneInputStreamOperatorTestHarness<Integer, ChunkRecord, StagingEvent> harness;

    @AfterEach
    void close() throws Exception {
        if (harness != null) {
            harness.close();
        }
        ResidentSet.releaseAll();
    }

    private void open(boolean cacheOn, boolean keepResident) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StagingOptions.KEEP_RESIDENT, keepResident);
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new StagingFunction(conf, cacheOn)),
                        r -> r.target,
                        Types.INT);
        harness.open();
    }

    /** Cuts {@code file} into records of {@code size} bytes, header chunk first. */
    static List<ChunkRecord> chunks(Path file, String model, int size, boolean owner)
            throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        long headerEnd = HeaderParser.read(file).dataStart();
        List<ChunkRecord> out = new ArrayList<>();
        for (int off = 0; off < bytes.length; off += size) {
            ChunkRecord r = new ChunkRecord();
            r.target = 0;
            r.model = model;
            r.modelFiles = 1;
            r.file = file.toUri().toString();
            r.fileSize = bytes.length;
            r.etag = "v1";
            r.headerEnd = headerEnd;
            r.offset = off;
            r.withBytes(Arrays.copyOfRange(bytes, off, Math.min(bytes.length, off + size)));
            r.cacheOwner = owner;
            out.add(r);
        }
        return out;
    }

    /**
     * {@link #chunks} of {@code file} as the origin at {@code uri} serves it: each record names
     * {@code uri} and carries the ETag the origin reports for it now.
     */
    static List<ChunkRecord> originRecords(Path file, String uri, String model, int size)
            throws Exception {
        String etag;
        try (io.warmstage.storage.ObjectStores stores =
                io.warmstage.storage.ObjectStores.create(new Configuration())) {
            etag = stores.forUri(java.net.URI.create(uri)).stat(java.net.URI.create(uri)).etag();
        }
        List<ChunkRecord> records = chunks(file, model, size, false);
        records.forEach(
                r -> {
                    r.file = uri;
                    r.etag = etag;
                });
        return records;
    }

    static Map<String, String> referenceCrcs(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        SafetensorsHeader h = HeaderParser.read(file);
        return h.tensors().stream()
                .collect(
                        Collectors.toMap(
                                TensorInfo::name,
                                t -> {
                                    CRC32C crc = new CRC32C();
                                    crc.update(
                                            bytes,
                                            (int) (h.dataStart() + t.begin()),
                                            (int) t.byteSize());
                                    return StagingEvent.hex((int) crc.getValue());
                                }));
    }

    @Test
    void recordsFromTheNetworkGiveTheirPooledBuffersBackOnceStaged() throws Exception {
        open(false, true);
        io.warmstage.memory.ChunkBuffers pool = new io.warmstage.memory.ChunkBuffers(16_384, 0);
        List<ChunkRecord> received = new ArrayList<>();
        for (ChunkRecord r : chunks(PEFT, "peft", 10_000, false)) {
            ChunkRecord c = r.copy();
            c.buffer = pool.take(); // as the exchange's deserializer does
            c.data = c.buffer.memory().put(r.bytes()).flip().slice();
            c.received = true;
            received.add(c);
        }
        for (ChunkRecord r : received) {
            harness.processElement(r, 0);
        }

        Map<String, String> crcs =
                harness.extractOutputValues().stream()
                        .filter(e -> e.event.equals("tensor"))
                        .collect(Collectors.toMap(e -> e.tensor, e -> e.crc32c));
        assertThat(crcs).isEqualTo(referenceCrcs(PEFT));
        assertThat(received)
                .allSatisfy(r -> assertThat(r.buffer.references()).as("%s", r).isZero());
        assertThat((long) pool.idle()).as("idle in the pool or freed").isEqualTo(pool.allocated());
    }

    @Test
    void chunksInAnyOrderReassembleEveryTensorWithTheOriginsChecksum() throws Exception {
        open(false, true);
        List<ChunkRecord> records = chunks(PEFT, "peft", 10_000, false);
        Collections.shuffle(records, new Random(3));
        for (ChunkRecord r : records) {
            harness.processElement(r, 0);
        }
        List<StagingEvent> events = harness.extractOutputValues();
        Map<String, String> crcs =
                events.stream()
                        .filter(e -> e.event.equals("tensor"))
                        .collect(Collectors.toMap(e -> e.tensor, e -> e.crc32c));
        assertThat(crcs).isEqualTo(referenceCrcs(PEFT)).hasSize(25);

        StagingEvent file =
                events.stream().filter(e -> e.event.equals("file")).findFirst().orElseThrow();
        assertThat(file.status).isEqualTo("staged");
        assertThat(file.bytes).isEqualTo(Files.size(PEFT));
        assertThat(file.tensors).isEqualTo(25);
        assertThat(file.cache).isEqualTo("off");
        assertThat(events.get(events.size() - 1).event).isEqualTo("model");
        assertThat(events.get(events.size() - 1).status).isEqualTo("staged");

        // the bytes in device memory are the origin's data section
        ResidentSet.Entry entry = ResidentSet.get(0, PEFT.toUri().toString());
        byte[] origin = Files.readAllBytes(PEFT);
        // ... in a published staging file that is the whole safetensors file
        assertThat(entry.data()).isInstanceOf(io.warmstage.device.HostBuffer.class);
        Path staged = ((io.warmstage.device.HostBuffer) entry.data()).path();
        assertThat(staged.getFileName().toString()).endsWith(".safetensors").doesNotStartWith(".");
        assertThat(Files.readAllBytes(staged)).isEqualTo(origin);
        java.nio.ByteBuffer dev = java.nio.ByteBuffer.allocate((int) entry.data().size());
        entry.data().copyToHost(0, dev);
        assertThat(dev.array())
                .isEqualTo(
                        Arrays.copyOfRange(
                                origin, (int) entry.header().dataStart(), origin.length));
    }

    /**
     * Two slots of one host stage the same file; the second is refused the cache claim at its first
     * chunk. The first finishes and closes (its claim goes) while the second is mid-file: the
     * second still writes nothing, since a write begun there would lack the chunks before it.
     */
    @Test
    void aSlotRefusedTheClaimNeverWritesEvenAfterTheWriterCloses() throws Exception {
        open(true, false);
        Configuration conf = new Configuration();
        conf.set(StagingOptions.KEEP_RESIDENT, false);
        int target = 0;
        while (org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
                        target, 128, 2)
                != 1) {
            target++;
        }
        var second =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new StagingFunction(conf, true)),
                        (ChunkRecord r) -> r.target,
                        Types.INT,
                        128,
                        2,
                        1);
        try {
            second.open();
            List<ChunkRecord> records = chunks(PEFT, "peft", 300_000, true);
            assertThat(records).hasSizeGreaterThan(2);
            List<ChunkRecord> forSecond = new ArrayList<>();
            for (ChunkRecord r : chunks(PEFT, "peft", 300_000, true)) {
                r.target = target;
                forSecond.add(r);
            }
            harness.processElement(records.get(0), 0); // the first slot claims the file
            second.processElement(forSecond.get(0), 0); // refused
            for (ChunkRecord r : records.subList(1, records.size())) {
                harness.processElement(r, 0);
            }
            List<CacheOp> firstOps = new ArrayList<>();
            harness.getSideOutput(StagingFunction.CACHE_OPS)
                    .forEach(r -> firstOps.add(r.getValue()));
            harness.close(); // its claim is released
            harness = null;
            for (ChunkRecord r : forSecond.subList(1, forSecond.size())) {
                second.processElement(r, 0);
            }

            assertThat(firstOps).hasSize(records.size() + 1);
            assertThat(firstOps.get(records.size()).kind).isEqualTo(CacheOp.Kind.COMMIT);
            var secondOps = second.getSideOutput(StagingFunction.CACHE_OPS);
            assertThat(secondOps == null ? List.of() : secondOps).isEmpty();
            assertThat(second.extractOutputValues().stream().filter(e -> e.event.equals("file")))
                    .singleElement()
                    .satisfies(e -> assertThat(e.status).isEqualTo("staged"));
        } finally {
            second.close();
        }
    }

    @Test
    void cacheOwnerSendsEveryChunkThenACommit() throws Exception {
        open(true, false);
        List<ChunkRecord> records = chunks(PEFT, "peft", 300_000, true);
        for (ChunkRecord r : records) {
            harness.processElement(r, 0);
        }
        List<CacheOp> ops = new ArrayList<>();
        for (StreamRecord<CacheOp> r : harness.getSideOutput(StagingFunction.CACHE_OPS)) {
            ops.add(r.getValue());
        }
        assertThat(ops).hasSize(records.size() + 1);
        assertThat(ops.subList(0, records.size())).allMatch(o -> o.kind == CacheOp.Kind.WRITE);
        long written =
                ops.stream()
                        .filter(o -> o.kind == CacheOp.Kind.WRITE)
                        .mapToLong(o -> o.bytes().remaining())
                        .sum();
        assertThat(written).isEqualTo(Files.size(PEFT));
        assertThat(ops.get(ops.size() - 1).kind).isEqualTo(CacheOp.Kind.COMMIT);
        assertThat(harness.extractOutputValues().stream().filter(e -> e.event.equals("file")))
                .singleElement()
                .satisfies(e -> assertThat(e.cache).isEqualTo("miss"));
    }

    @Test
    void aFailureRecordFailsItsFileAbortsItsCacheEntryAndTheModel() throws Exception {
        open(true, false);
        List<ChunkRecord> records = chunks(PEFT, "peft", 300_000, true);
        harness.processElement(records.get(0), 0);
        ChunkRecord failure = chunks(PEFT, "peft", 300_000, true).get(1);
        failure.data = null;
        failure.error = "short read: got 5 of 300000 bytes";
        harness.processElement(failure, 0);
        harness.processElement(records.get(2), 0); // late bytes of the failed file are ignored

        List<StagingEvent> events = harness.extractOutputValues();
        assertThat(events.stream().filter(e -> e.event.equals("file")))
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.status).isEqualTo("failed");
                            assertThat(e.reason).contains("short read");
                        });
        assertThat(events.stream().filter(e -> e.event.equals("model")))
                .singleElement()
                .satisfies(e -> assertThat(e.status).isEqualTo("failed"));
        List<CacheOp> ops = new ArrayList<>();
        harness.getSideOutput(StagingFunction.CACHE_OPS).forEach(r -> ops.add(r.getValue()));
        assertThat(ops.get(ops.size() - 1).kind).isEqualTo(CacheOp.Kind.ABORT);
    }

    @Test
    void aHeaderThatFailsValidationFailsTheFileNamingTheRule() throws Exception {
        open(false, false);
        List<ChunkRecord> records = chunks(PEFT, "peft", 300_000, false);
        ChunkRecord header = records.get(0);
        byte[] bad = header.data.array().clone();
        String json = new String(bad, 8, 100, java.nio.charset.StandardCharsets.UTF_8);
        int i = json.indexOf("F32");
        bad[8 + i] = 'X'; // "X32" is not a dtype
        header.withBytes(bad);
        for (ChunkRecord r : records) {
            harness.processElement(r, 0);
        }
        List<StagingEvent> events = harness.extractOutputValues();
        assertThat(events).noneMatch(e -> e.event.equals("tensor"));
        assertThat(events.stream().filter(e -> e.event.equals("file")))
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.status).isEqualTo("failed");
                            assertThat(e.reason).contains("X32");
                        });
    }

    @Test
    void tensorsTheIndexAssignsElsewhereAreStagedButNotReported() throws Exception {
        open(false, false);
        List<ChunkRecord> records = chunks(PEFT, "peft", 300_000, false);
        String skipped = "base_model.model.score.weight";
        assertThat(referenceCrcs(PEFT)).containsKey(skipped);
        records.get(0).skipTensors = new String[] {skipped};
        for (ChunkRecord r : records) {
            harness.processElement(r, 0);
        }
        List<StagingEvent> events = harness.extractOutputValues();
        assertThat(events.stream().filter(e -> e.event.equals("tensor")).map(e -> e.tensor))
                .hasSize(24)
                .doesNotContain(skipped);
        assertThat(events.stream().filter(e -> e.event.equals("file")))
                .singleElement()
                .satisfies(e -> assertThat(e.tensors).isEqualTo(24));
    }
}
