package io.warmstage.source.enumerator;

import io.warmstage.format.SafetensorsHeader;
import io.warmstage.storage.ObjectVersion;

/**
 * A file the enumerator has stat'ed and whose header it has read and validated, or one that failed.
 *
 * @param model the model's name
 * @param modelFiles how many files the model has
 * @param uri the file
 * @param version size and version token pinned for every later read
 * @param header the validated header, or null when {@code error} is set
 * @param error null, or the one-line reason the file failed
 */
public record FilePlan(
        String model,
        int modelFiles,
        String uri,
        ObjectVersion version,
        SafetensorsHeader header,
        String error) {

    public static FilePlan failed(String model, int modelFiles, String uri, String error) {
        return new FilePlan(model, modelFiles, uri, null, null, error);
    }

    public boolean isFailure() {
        return error != null;
    }
}
