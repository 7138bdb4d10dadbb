package io.warmstage.staging;

/**
 * What one staging slot checkpoints about one file or one model (a Flink POJO: no Kryo).
 *
 * <p>Device memory is not checkpointed: after a restore, a file that was partly staged is read
 * again for the byte ranges the checkpoint says were staged when its next chunk arrives from the
 * restored source (that chunk gives the file's other fields), and tensors reported before the
 * checkpoint are not reported again.
 */
public class StagingProgress {
    /** A file staged completely on the slot. */
    public static final String FILE_DONE = "file-done";

    /** A file partly staged on the slot. */
    public static final String FILE_PARTIAL = "file-partial";

    /** A model's file counts on the slot. */
    public static final String MODEL = "model";

    /**
     * One of {@link #FILE_DONE}, {@link #FILE_PARTIAL}, {@link #MODEL}: the checkpointed form of
     * {@link Kind}, kept a string so that checkpoints written before the enum restore.
     */
    public String kind;

    /** The staging slot (subtask index) the entry belongs to. */
    public int slot;

    public String model;

    /** The file (null for a model entry). */
    public String uri;

    /** Pinned size of the file, in bytes. */
    public long fileSize;

    /** Pinned version token of the file, or null. */
    public String etag;

    /** Files the model has. */
    public int modelFiles;

    /** Partial file: staged byte ranges as {@code start, end} pairs (absolute offsets). */
    public long[] ranges;

    /** Partial file: reported tensors, as a bit set over the header's tensors in offset order. */
    public long[] reported;

    /**
     * Partial file: CRC-32C of the reported tensors, by index in offset order (0 for the others);
     * checked again when the file completes after a restore. Null in older checkpoints.
     */
    public int[] crcs;

    /** Partial file: tensors the index assigns to another shard. */
    public String[] skip;

    /** Model: files staged, files failed, bytes staged. */
    public int staged;

    public int failed;

    public long bytes;

    /** Model: the first failure's reason, or null. */
    public String reason;

    /** Model: when its first chunk arrived on the slot, milliseconds since the epoch. */
    public long startMillis;

    public StagingProgress() {}

    /** What an entry describes; {@link #code} is the string checkpointed in {@code kind}. */
    public enum Kind {
        /** A file staged completely on the slot. */
        FILE_DONE(StagingProgress.FILE_DONE),
        /** A file partly staged on the slot. */
        FILE_PARTIAL(StagingProgress.FILE_PARTIAL),
        /** A model's file counts on the slot. */
        MODEL(StagingProgress.MODEL);

        private final String code;

        Kind(String code) {
            this.code = code;
        }

        /** The string written to a checkpoint. */
        public String code() {
            return code;
        }

        /**
         * The kind a checkpointed string names.
         *
         * @throws IllegalStateException if it names none (a checkpoint of another program)
         */
        public static Kind of(String code) {
            for (Kind k : values()) {
                if (k.code.equals(code)) {
                    return k;
                }
            }
            throw new IllegalStateException("unknown staging state " + code);
        }
    }

    /** An entry of {@code kind} for {@code slot} and {@code model}; the other fields unset. */
    static StagingProgress of(Kind kind, int slot, String model) {
        StagingProgress p = new StagingProgress();
        p.kind = kind.code();
        p.slot = slot;
        p.model = model;
        return p;
    }
}
