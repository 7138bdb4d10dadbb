package io.warmstage.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * Where a file staged on a GPU lives: the device and a CUDA IPC handle of its allocation, which
 * another process of the host opens with {@code cuIpcOpenMemHandle} (valid while the staging
 * process holds the allocation).
 *
 * @param ordinal the CUDA device ordinal on the host
 * @param uuid the GPU's UUID ({@code GPU-...}), or null when not known
 * @param ipcHandle the {@code CUipcMemHandle} of the file's data section (64 bytes) in lower-case
 *     hex; tensor offsets are relative to its base
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record StagedGpu(int ordinal, String uuid, String ipcHandle) {}
