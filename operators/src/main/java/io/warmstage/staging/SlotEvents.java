package io.warmstage.staging;

import io.warmstage.format.TensorInfo;

/** Builds the events of one staging slot, stamped with its slot, device, host and the time. */
final class SlotEvents {
    private final int slot;
    private final String device;
    private final String host;

    /**
     * @param slot the slot's index (subtask)
     * @param device its device's name, e.g. {@code cpu} or {@code cuda:0}
     * @param host its host's name
     */
    SlotEvents(int slot, String device, String host) {
        this.slot = slot;
        this.device = device;
        this.host = host;
    }

    /** All of a tensor's bytes are in device memory, with their CRC-32C. */
    StagingEvent tensor(String model, String file, TensorInfo t, int crc32c) {
        StagingEvent e = event(StagingEvent.Kind.TENSOR, model, file);
        e.tensor = t.name();
        e.dtype = t.dtype().name();
        e.shape = t.shape();
        e.bytes = t.byteSize();
        e.crc32c = StagingEvent.hex(crc32c);
        return e;
    }

    /**
     * A file staged: {@code bytes} its size, {@code tensors} those it reports, {@code cache} one of
     * {@code hit}, {@code miss}, {@code off}.
     */
    StagingEvent fileStaged(String model, String file, long bytes, int tensors, String cache) {
        StagingEvent e = event(StagingEvent.Kind.FILE, model, file);
        e.bytes = bytes;
        e.tensors = tensors;
        e.status = "staged";
        e.cache = cache;
        return e;
    }

    /** A file failed for {@code reason}. */
    StagingEvent fileFailed(String model, String file, String reason, String cache) {
        StagingEvent e = event(StagingEvent.Kind.FILE, model, file);
        e.status = "failed";
        e.cache = cache;
        e.reason = reason;
        return e;
    }

    /** Every file of a model is done on this slot. */
    StagingEvent modelDone(String model, ModelProgress p) {
        StagingEvent e = event(StagingEvent.Kind.MODEL, model, null);
        e.status = p.failed > 0 ? "failed" : "staged";
        e.bytes = p.bytes;
        e.seconds = (System.currentTimeMillis() - p.startMillis) / 1e3;
        e.reason = p.reason;
        return e;
    }

    /** A model's device memory was released on this slot: {@code freed} bytes. */
    StagingEvent released(String model, long freed) {
        StagingEvent e = event(StagingEvent.Kind.RELEASE, model, null);
        e.status = "released";
        e.bytes = freed;
        return e;
    }

    private StagingEvent event(StagingEvent.Kind kind, String model, String file) {
        StagingEvent e = StagingEvent.of(kind);
        e.slot = slot;
        e.device = device;
        e.host = host;
        e.at = System.currentTimeMillis();
        e.model = model;
        e.file = file;
        return e;
    }
}
