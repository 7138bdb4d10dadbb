package io.warmstage.source.golden;

import io.warmstage.source.ChunkRecord;
import io.warmstage.source.enumerator.WeightEnumeratorState;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.source.split.ReleaseSplit;
import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import java.util.List;
import java.util.Map;

/**
 * The values pinned by the golden files: one of each kind of split and an enumerator state holding
 * staged models and unassigned splits.
 */
final class GoldenValues {
    static final ObjectVersion VERSION = new ObjectVersion(6_000_000_000L, "\"etag-1\"");

    private GoldenValues() {}

    /** A fan-out data split: three destinations, tensors to skip, the model's bytes. */
    static DataSplit dataSplit() {
        return new DataSplit(
                "3:llama#2:s3://b/llama/model-00001.safetensors@0",
                "llama",
                2,
                new FileId("s3://b/llama/model-00001.safetensors", VERSION),
                1_032,
                5_000_000_000L,
                16 << 20,
                List.of("lm_head.weight", "model.norm.weight"),
                List.of(
                        new Destination(3, true, true),
                        new Destination(9, false, true),
                        new Destination(12, true, false)),
                12_000_000_000L);
    }

    /**
     * A host-level fan-out data split (split version 4): one destination per host, each the host's
     * lead slot listing the host's targets to relay to; a host with one placed slot lists it alone.
     */
    static DataSplit relaySplit() {
        return new DataSplit(
                "0:llama#1:s3://b/llama/model-00002.safetensors@1032",
                "llama",
                2,
                new FileId("s3://b/llama/model-00002.safetensors", VERSION),
                1_032,
                1_032,
                4 << 20,
                List.of(),
                List.of(
                        new Destination(0, true, true, List.of(0, 1)),
                        new Destination(2, true, false, List.of(2, 3, 5)),
                        new Destination(4, true, false, List.of(4))),
                12_000_000_000L);
    }

    /**
     * A chunk record with every field set (heap bytes): in format 2 (before relay targets) its
     * relay targets are none, in format 3 {@code relay} when given.
     */
    static ChunkRecord chunkRecord(int[] relay) {
        ChunkRecord r = new ChunkRecord();
        r.target = 5;
        r.model = "llama";
        r.modelFiles = 4;
        r.modelBytes = 1L << 34;
        r.file = "s3://b/model-00001.safetensors";
        r.fileSize = 5_000_000_000L;
        r.etag = "\"abc\"";
        r.headerEnd = 4096;
        r.offset = 3_000_000_000L;
        r.withBytes(new byte[] {1, 2, 3, 4, 5});
        r.cacheHit = true;
        r.expectedHeaderCrc = 0x89abcdef;
        r.expectedCrcs = new int[] {1, -2};
        r.cacheOwner = true;
        r.skipTensors = new String[] {"lm_head.weight"};
        r.relayTargets = relay;
        return r;
    }

    /** A failure split. */
    static FailureSplit failureSplit() {
        return new FailureSplit(
                "0:bad:file:///models/bad.safetensors@failed",
                "bad",
                1,
                "file:///models/bad.safetensors",
                "bad header: data offsets overlap at tensor w",
                0,
                0);
    }

    /** A release split. */
    static ReleaseSplit releaseSplit() {
        return new ReleaseSplit("7:gone#1:release", "gone", 7);
    }

    /** A per-target data split with a null ETag and a single local destination. */
    static DataSplit plainSplit() {
        return new DataSplit(
                "0:m:file:///x@1032",
                "m",
                1,
                new FileId("file:///x", new ObjectVersion(4_096, null)),
                1_032,
                1_032,
                3_064,
                List.of(),
                List.of(Destination.of(0)),
                0);
    }

    /**
     * The data split of the version 1 golden files, as read today: its one destination is its
     * target, local, with its cache owner flag; the model's bytes are unknown (0).
     *
     * @param skipTensors whether the layout had skipped tensors (the last version 1 layout)
     */
    static DataSplit v1DataSplit(boolean skipTensors) {
        return new DataSplit(
                "3:llama:s3://b/llama/model-00001.safetensors@5000000000",
                "llama",
                2,
                new FileId("s3://b/llama/model-00001.safetensors", VERSION),
                1_032,
                5_000_000_000L,
                16 << 20,
                skipTensors ? List.of("lm_head.weight", "model.norm.weight") : List.of(),
                List.of(new Destination(3, true, true)),
                0);
    }

    /** An enumerator state: two staged models (one failed) and two readers' queues. */
    static WeightEnumeratorState state() {
        return new WeightEnumeratorState(
                Map.of(
                        "llama",
                        new WeightEnumeratorState.StagedModel(
                                "s3://b/llama/model-00001.safetensors 6000000000 \"etag-1\"\n"
                                        + "placement every slot\nversion null",
                                List.of(0, 3),
                                2),
                        "bad",
                        new WeightEnumeratorState.StagedModel(null, List.of(1), 0)),
                Map.of(
                        3,
                        List.of(dataSplit(), releaseSplit()),
                        0,
                        List.of(plainSplit(), failureSplit())));
    }
}
