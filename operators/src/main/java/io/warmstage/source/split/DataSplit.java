package io.warmstage.source.split;

import io.warmstage.storage.FileId;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.util.List;
import java.util.Objects;

/**
 * The byte range {@code [offset, offset + length)} of one version of a safetensors file.
 *
 * <p>The enumerator cuts each file by byte offset: the header bytes {@code [0, 8 + N)} are the
 * first split, the data section follows in splits of at most the configured split size.
 *
 * @param id unique split id
 * @param model the model's name
 * @param modelFiles how many files the model has
 * @param file the file's URI (as the reader reads it) and the version pinned when its header was
 *     read
 * @param headerEnd 8 + N, in bytes
 * @param offset first byte of the range
 * @param length bytes in the range
 * @param skipTensors on the header split: tensors of the file that the sharded index assigns to
 *     another shard (staged, not reported); empty elsewhere
 * @param destinations where the records go; not empty
 * @param modelBytes bytes of all of the model's files (0 when unknown): staging's progress total
 */
public record DataSplit(
        String id,
        String model,
        int modelFiles,
        FileId file,
        long headerEnd,
        long offset,
        long length,
        List<String> skipTensors,
        List<Destination> destinations,
        long modelBytes)
        implements ChunkSplit {

    /**
     * @throws IllegalArgumentException if the range lies outside the file or there is no
     *     destination
     */
    public DataSplit {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(file, "file");
        skipTensors = List.copyOf(skipTensors);
        destinations = List.copyOf(destinations);
        if (destinations.isEmpty()) {
            throw new IllegalArgumentException("split " + id + " has no destination");
        }
        if (offset < 0 || length < 0 || Math.addExact(offset, length) > file.size()) {
            throw new IllegalArgumentException(
                    "split range ["
                            + offset
                            + ", "
                            + (offset + length)
                            + ") outside "
                            + Redaction.uri(file.uri())
                            + " ("
                            + file.size()
                            + " bytes)");
        }
    }

    /** The file's URI. */
    public String uri() {
        return file.uri();
    }

    /** The file's version pinned for every read. */
    public ObjectVersion version() {
        return file.version();
    }

    /** One past the last byte of the range. */
    public long end() {
        return offset + length;
    }

    /** The same split narrowed to {@code [offset, offset + length)}, e.g. what is left to read. */
    public DataSplit withRange(long offset, long length) {
        return new DataSplit(
                id,
                model,
                modelFiles,
                file,
                headerEnd,
                offset,
                length,
                skipTensors,
                destinations,
                modelBytes);
    }

    /** The same split delivered to {@code to}. */
    public DataSplit withDestinations(List<Destination> to) {
        return new DataSplit(
                id,
                model,
                modelFiles,
                file,
                headerEnd,
                offset,
                length,
                skipTensors,
                to,
                modelBytes);
    }

    /** The same split, telling staging that its model has {@code bytes} bytes in all its files. */
    public DataSplit withModelBytes(long bytes) {
        return new DataSplit(
                id,
                model,
                modelFiles,
                file,
                headerEnd,
                offset,
                length,
                skipTensors,
                destinations,
                bytes);
    }

    @Override
    public String toString() {
        return Redaction.text(
                "DataSplit{"
                        + id
                        + " "
                        + file.uri()
                        + " ["
                        + offset
                        + ", "
                        + end()
                        + ") -> "
                        + destinations.stream().map(Destination::target).toList()
                        + "}");
    }
}
