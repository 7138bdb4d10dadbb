package io.warmstage.staging;

/** Files of one model done on one slot: counts, bytes staged and the first failure's reason. */
final class ModelProgress {
    final int expected;
    final long startMillis;
    int staged;
    int failed;
    long bytes;
    String reason;

    /**
     * @param expected files the model has
     * @param startMillis when its first chunk arrived on the slot, milliseconds since the epoch
     */
    ModelProgress(int expected, long startMillis) {
        this.expected = expected;
        this.startMillis = startMillis;
    }

    /** Counts one file done: staged with {@code fileBytes} bytes, or failed for {@code why}. */
    void fileDone(long fileBytes, boolean fail, String why) {
        if (fail) {
            failed++;
            reason = reason == null ? why : reason;
        } else {
            staged++;
            bytes += fileBytes;
        }
    }

    /** Whether every file of the model is staged or failed. */
    boolean done() {
        return staged + failed == expected;
    }
}
