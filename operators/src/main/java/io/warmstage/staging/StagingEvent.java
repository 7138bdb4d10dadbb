package io.warmstage.staging;

import java.util.Locale;

/**
 * What staging reports: a tensor in device memory, a file staged or failed, a model done, or a
 * cache entry published or not. A Flink POJO; unused fields are null or zero.
 */
public class StagingEvent {
    /** Kind of a tensor event: all of one tensor's bytes are in device memory. */
    public static final String TENSOR = "tensor";

    /** Kind of a file event: a file staged or failed. */
    public static final String FILE = "file";

    /** Kind of a model event: every file of a model done on one slot. */
    public static final String MODEL = "model";

    /** Kind of a cache event: a cache entry published or failed. */
    public static final String CACHE = "cache";

    /** A model's device memory was released on a slot (it left a refreshing job's manifest). */
    public static final String RELEASE = "release";

    /**
     * One of {@link #TENSOR}, {@link #FILE}, {@link #MODEL}, {@link #CACHE}, {@link #RELEASE}: the
     * serialized form of {@link Kind} (a string, as reports and downstream operators read it).
     */
    public String event;

    /** Index of the staging slot (subtask) that reports. */
    public int slot;

    /** The slot's device, e.g. {@code cpu} or {@code cuda:0}. */
    public String device;

    /** When the event was emitted: milliseconds since the epoch (the TaskManager's clock). */
    public long at;

    /** The host of the slot (a simulated host's name in a local fleet simulation). */
    public String host;

    public String model;
    public String file;
    public String tensor;
    public String dtype;
    public long[] shape;

    /** Bytes: of the tensor, the file, the model, or the cache entry. */
    public long bytes;

    /** CRC-32C of the tensor's bytes in device memory, 8 lowercase hex digits. */
    public String crc32c;

    /** Tensors in the file (file events). */
    public int tensors;

    /**
     * {@code staged} or {@code failed} (file, model); {@code published} or {@code failed} (cache).
     */
    public String status;

    /** {@code hit}, {@code miss} or {@code off} (file events). */
    public String cache;

    /** Why a file, model or cache entry failed. */
    public String reason;

    /** Seconds from the model's first byte on this slot to its last (model events). */
    public double seconds;

    public StagingEvent() {}

    /** What an event reports; {@link #code} is the string in {@link #event}. */
    public enum Kind {
        TENSOR(StagingEvent.TENSOR),
        FILE(StagingEvent.FILE),
        MODEL(StagingEvent.MODEL),
        CACHE(StagingEvent.CACHE),
        RELEASE(StagingEvent.RELEASE);

        private final String code;

        Kind(String code) {
            this.code = code;
        }

        /** The string an event of this kind carries in {@link StagingEvent#event}. */
        public String code() {
            return code;
        }

        /**
         * The kind an event's string names.
         *
         * @throws IllegalArgumentException if it names none
         */
        public static Kind of(String code) {
            for (Kind k : values()) {
                if (k.code.equals(code)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown staging event kind " + code);
        }
    }

    /** An event of {@code kind}; the other fields unset. */
    public static StagingEvent of(Kind kind) {
        StagingEvent e = new StagingEvent();
        e.event = kind.code();
        return e;
    }

    /** This event's kind (from {@link #event}). */
    public Kind kind() {
        return Kind.of(event);
    }

    /** Formats a CRC-32C value as 8 lowercase hex digits. */
    public static String hex(int crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }

    @Override
    public String toString() {
        return event
                + " "
                + (tensor != null ? tensor : file != null ? file : model)
                + " "
                + (status != null ? status : crc32c);
    }
}
