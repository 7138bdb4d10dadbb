package io.warmstage.source.enumerator;

import io.warmstage.plan.FilePlan;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.storage.FileId;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a planned file into {@link ChunkSplit}s for one target: the header {@code [0, 8 + N)} first,
 * then the data section in ranges of at most {@code splitSize} bytes, each a {@link DataSplit} with
 * the target as its one destination (no cache owner, model bytes unknown). A failed file becomes
 * one {@link FailureSplit}.
 */
public final class SplitPlanner {
    private final long splitSize;

    /**
     * @param splitSize the largest data range of one split, in bytes (at least 1)
     */
    public SplitPlanner(long splitSize) {
        if (splitSize < 1) {
            throw new IllegalArgumentException("split size must be positive: " + splitSize);
        }
        this.splitSize = splitSize;
    }

    /**
     * The splits of {@code file} for {@code target}, in offset order; together they cover {@code
     * [0, fileSize)} exactly once.
     */
    public List<ChunkSplit> splits(FilePlan file, int target) {
        return splits(file, target, 0);
    }

    /**
     * As {@link #splits(FilePlan, int)}, for the {@code generation}-th distribution of the model (a
     * refreshing job cuts a changed model again; ids stay unique).
     */
    public List<ChunkSplit> splits(FilePlan file, int target, int generation) {
        // Unique per target, model, generation and file: two models may share a file.
        String prefix =
                target
                        + ":"
                        + file.model()
                        + (generation == 0 ? "" : "#" + generation)
                        + ":"
                        + file.uri();
        if (file.isFailure()) {
            return List.of(
                    new FailureSplit(
                            prefix + "@failed",
                            file.model(),
                            file.modelFiles(),
                            file.uri(),
                            file.error(),
                            target,
                            0));
        }
        long headerEnd = file.header().dataStart();
        long size = file.version().size();
        List<ChunkSplit> out = new ArrayList<>();
        out.add(split(file, target, prefix, 0, headerEnd, file.skipTensors()));
        for (long off = headerEnd; off < size; off = Math.addExact(off, splitSize)) {
            out.add(split(file, target, prefix, off, Math.min(splitSize, size - off), List.of()));
        }
        return out;
    }

    private static DataSplit split(
            FilePlan f, int target, String prefix, long off, long len, List<String> skip) {
        return new DataSplit(
                prefix + "@" + off,
                f.model(),
                f.modelFiles(),
                new FileId(f.uri(), f.version()),
                f.header().dataStart(),
                off,
                len,
                skip,
                List.of(Destination.of(target)),
                0);
    }
}
