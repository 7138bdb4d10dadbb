package io.warmstage.storage;

import java.io.IOException;

/**
 * A storage read that failed. {@link #retryable()} tells transient faults (5xx, SlowDown, resets,
 * short bodies) from final ones (301, 403, 404, object changed, a wrong range).
 */
public class StorageException extends IOException {
    private static final long serialVersionUID = 1L;

    private final boolean retryable;

    public StorageException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public StorageException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    /** True if the same read may succeed when tried again. */
    public boolean retryable() {
        return retryable;
    }
}
