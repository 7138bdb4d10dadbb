package io.warmstage.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * One staged file in a host's staged set ({@link StagedSet}): a registry entry, one JSON file. It
 * appears once every tensor of the file is staged and verified, and is withdrawn before the memory
 * behind it is freed.
 *
 * @param format the entry format's version ({@link #FORMAT})
 * @param uri the file's URI without credentials (no user info, no query)
 * @param size the pinned version's size in bytes
 * @param etag the pinned version's ETag or generation, or null when the store gives none
 * @param model the model the file was staged for
 * @param host the staging host's name
 * @param job the Flink job that staged it
 * @param slot the staging slot (subtask index)
 * @param device {@code cpu} or {@code cuda:N}
 * @param pid the staging process's id (a GPU allocation lives as long as it)
 * @param stagedAt when the entry was published, ISO-8601 UTC
 * @param file cpu: the complete safetensors staging file (shared memory); null for a GPU
 * @param dataStart the data section's first byte in {@code file}: 8 + the header length
 * @param gpu cuda: the GPU and IPC handle; null for cpu
 * @param tensors every tensor of the file, in data-offset order
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record StagedEntry(
        int format,
        String uri,
        long size,
        String etag,
        String model,
        String host,
        String job,
        int slot,
        String device,
        long pid,
        String stagedAt,
        String file,
        long dataStart,
        StagedGpu gpu,
        List<StagedTensor> tensors) {

    /** The entry format written by this version. */
    public static final int FORMAT = 1;

    /** Whether the bytes are in a staging file of host memory. */
    public boolean onHost() {
        return file != null;
    }
}
