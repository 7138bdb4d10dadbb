package io.warmstage.source.split;

import io.warmstage.storage.ObjectVersion;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * An immutable byte range {@code [offset, offset + length)} of one safetensors file for one target,
 * or a failure of that file (then {@link #error()} is set and the range is empty).
 *
 * <p>The enumerator cuts each file into splits by byte offset: the header bytes {@code [0, 8 + N)}
 * are the first split, the data section follows in splits of at most the configured split size. The
 * mutable progress of a split lives in {@link ChunkSplitState}.
 */
public final class ChunkSplit implements SourceSplit {
    private final String id;
    private final int target;
    private final String model;
    private final int modelFiles;
    private final String uri;
    private final ObjectVersion version;
    private final long headerEnd;
    private final long offset;
    private final long length;
    private final boolean cacheOwner;
    private final String error;
    private final List<String> skipTensors;
    private final int[] targets;
    private final boolean[] owners;
    private final boolean[] local;
    private final boolean release;
    private final long modelBytes;

    /**
     * @param id unique split id
     * @param target the staging target key the bytes go to
     * @param model the model's name
     * @param modelFiles how many files the model has
     * @param uri the file
     * @param version the version pinned when the header was read
     * @param headerEnd 8 + N in bytes
     * @param offset first byte of the range
     * @param length bytes in the range (0 for a failure split)
     * @param cacheOwner whether this target writes the file into its host's cache
     * @param error null, or why the file failed
     */
    public ChunkSplit(
            String id,
            int target,
            String model,
            int modelFiles,
            String uri,
            ObjectVersion version,
            long headerEnd,
            long offset,
            long length,
            boolean cacheOwner,
            String error) {
        this(
                id,
                target,
                model,
                modelFiles,
                uri,
                version,
                headerEnd,
                offset,
                length,
                cacheOwner,
                error,
                List.of());
    }

    /**
     * As above, with the tensors staging does not report.
     *
     * @param skipTensors on the header split: tensors of the file that the sharded index assigns to
     *     another shard; empty elsewhere
     */
    public ChunkSplit(
            String id,
            int target,
            String model,
            int modelFiles,
            String uri,
            ObjectVersion version,
            long headerEnd,
            long offset,
            long length,
            boolean cacheOwner,
            String error,
            List<String> skipTensors) {
        this(
                id,
                model,
                modelFiles,
                uri,
                version,
                headerEnd,
                offset,
                length,
                error,
                skipTensors,
                new int[] {target},
                new boolean[] {cacheOwner},
                new boolean[] {true},
                false,
                0);
    }

    private ChunkSplit(
            String id,
            String model,
            int modelFiles,
            String uri,
            ObjectVersion version,
            long headerEnd,
            long offset,
            long length,
            String error,
            List<String> skipTensors,
            int[] targets,
            boolean[] owners,
            boolean[] local,
            boolean release,
            long modelBytes) {
        this.release = release;
        this.modelBytes = modelBytes;
        this.skipTensors = List.copyOf(skipTensors);
        this.id = Objects.requireNonNull(id);
        this.target = targets[0];
        this.model = Objects.requireNonNull(model);
        this.modelFiles = modelFiles;
        this.uri = Objects.requireNonNull(uri);
        this.version = Objects.requireNonNull(version);
        this.headerEnd = headerEnd;
        this.offset = offset;
        this.length = length;
        this.cacheOwner = owners[0];
        this.error = error;
        this.targets = targets;
        this.owners = owners;
        this.local = local;
        if (offset < 0 || length < 0 || Math.addExact(offset, length) > version.size()) {
            throw new IllegalArgumentException(
                    "split range ["
                            + offset
                            + ", "
                            + (offset + length)
                            + ") outside "
                            + uri
                            + " ("
                            + version.size()
                            + " bytes)");
        }
    }

    /** A split that reports that {@code uri} failed with {@code error}; it carries no bytes. */
    public static ChunkSplit failure(
            String id, int target, String model, int modelFiles, String uri, String error) {
        return new ChunkSplit(
                id,
                target,
                model,
                modelFiles,
                uri,
                new ObjectVersion(0, null),
                0,
                0,
                0,
                false,
                Objects.requireNonNull(error));
    }

    /**
     * A split that tells {@code target} to release the device memory of {@code model}: the model
     * left the manifest of a refreshing job. It carries no bytes.
     */
    public static ChunkSplit release(String id, int target, String model) {
        return new ChunkSplit(
                id,
                model,
                0,
                "release:" + model,
                new ObjectVersion(0, null),
                0,
                0,
                0,
                null,
                List.of(),
                new int[] {target},
                new boolean[] {false},
                new boolean[] {true},
                true,
                0);
    }

    /** Whether this split releases its model's device memory instead of carrying bytes. */
    public boolean isRelease() {
        return release;
    }

    /** The same split with {@link #cacheOwner()} set to {@code owner}. */
    public ChunkSplit withCacheOwner(boolean owner) {
        if (owner == cacheOwner) {
            return this;
        }
        boolean[] o = owners.clone();
        o[0] = owner;
        return new ChunkSplit(this, offset, length, targets, o, local);
    }

    /**
     * The same split delivered to several targets: the reader that fetches it emits each record
     * once per destination. Used by the per-host and fan-out fetch modes.
     *
     * @param targets destination target keys; the first becomes {@link #target()}
     * @param owners per destination: whether it writes the file into its host's cache
     * @param local per destination: whether it sits on the fetching reader's host (a cached copy
     *     read there is a cache hit for it; a remote destination's host has not got it)
     * @throws IllegalArgumentException if the arrays are empty or of different lengths
     */
    public ChunkSplit withDestinations(int[] targets, boolean[] owners, boolean[] local) {
        if (targets.length == 0
                || owners.length != targets.length
                || local.length != targets.length) {
            throw new IllegalArgumentException(
                    "split " + id + ": destinations, owners and local flags must match");
        }
        return new ChunkSplit(this, offset, length, targets, owners, local);
    }

    /** The same split, telling staging that its model has {@code bytes} bytes in all its files. */
    public ChunkSplit withModelBytes(long bytes) {
        return new ChunkSplit(this, offset, length, targets, owners, local, bytes);
    }

    /** Bytes of all of the model's files (0 when unknown): staging's progress total. */
    public long modelBytes() {
        return modelBytes;
    }

    /** The same split narrowed to {@code [offset, offset + length)}, e.g. what is left to read. */
    public ChunkSplit withRange(long offset, long length) {
        return new ChunkSplit(this, offset, length, targets, owners, local);
    }

    private ChunkSplit(
            ChunkSplit s,
            long offset,
            long length,
            int[] targets,
            boolean[] owners,
            boolean[] local) {
        this(s, offset, length, targets, owners, local, s.modelBytes);
    }

    private ChunkSplit(
            ChunkSplit s,
            long offset,
            long length,
            int[] targets,
            boolean[] owners,
            boolean[] local,
            long modelBytes) {
        this(
                s.id,
                s.model,
                s.modelFiles,
                s.uri,
                s.version,
                s.headerEnd,
                offset,
                length,
                s.error,
                s.skipTensors,
                targets.clone(),
                owners.clone(),
                local.clone(),
                s.release,
                modelBytes);
    }

    @Override
    public String splitId() {
        return id;
    }

    public int target() {
        return target;
    }

    public String model() {
        return model;
    }

    public int modelFiles() {
        return modelFiles;
    }

    public String uri() {
        return uri;
    }

    public ObjectVersion version() {
        return version;
    }

    public long headerEnd() {
        return headerEnd;
    }

    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    /** One past the last byte of the range. */
    public long end() {
        return offset + length;
    }

    public boolean cacheOwner() {
        return cacheOwner;
    }

    /** Number of targets the split's records go to (1 unless per-host or fan-out). */
    public int destinations() {
        return targets.length;
    }

    /** The {@code i}-th destination's target key; {@code destinationTarget(0) == target()}. */
    public int destinationTarget(int i) {
        return targets[i];
    }

    /** Whether the {@code i}-th destination writes the file into its host's cache. */
    public boolean destinationOwner(int i) {
        return owners[i];
    }

    /** Whether the {@code i}-th destination is on the host of the reader that fetches the split. */
    public boolean destinationLocal(int i) {
        return local[i];
    }

    /** Null, or why the file failed. */
    public String error() {
        return error;
    }

    public boolean isFailure() {
        return error != null;
    }

    /** Tensors staging does not report from this file (set on the header split only). */
    public List<String> skipTensors() {
        return skipTensors;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkSplit s
                && id.equals(s.id)
                && target == s.target
                && model.equals(s.model)
                && modelFiles == s.modelFiles
                && uri.equals(s.uri)
                && version.equals(s.version)
                && headerEnd == s.headerEnd
                && offset == s.offset
                && length == s.length
                && cacheOwner == s.cacheOwner
                && java.util.Arrays.equals(targets, s.targets)
                && java.util.Arrays.equals(owners, s.owners)
                && java.util.Arrays.equals(local, s.local)
                && release == s.release
                && modelBytes == s.modelBytes
                && Objects.equals(error, s.error)
                && skipTensors.equals(s.skipTensors);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    @Override
    public String toString() {
        return io.warmstage.storage.Redaction.text(describe());
    }

    private String describe() {
        return isFailure()
                ? "ChunkSplit{" + id + " " + uri + " failed: " + error + "}"
                : "ChunkSplit{"
                        + id
                        + " "
                        + uri
                        + " ["
                        + offset
                        + ", "
                        + end()
                        + ") -> "
                        + java.util.Arrays.toString(targets)
                        + "}";
    }
}
