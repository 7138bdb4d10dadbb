package io.warmstage.plan;

import io.warmstage.format.SafetensorsException;
import io.warmstage.storage.StorageException;

/**
 * One-line descriptions of errors for users: what a failed file or model is reported with in
 * events, reports and logs.
 */
public final class ErrorDescription {
    private ErrorDescription() {}

    /**
     * One line for users: the message of a format or storage error (it names the file and the rule
     * broken already), else the error's simple class name, followed by {@code ": "} and its message
     * when it has one.
     *
     * @param e any error, not null
     * @return the description, never null
     */
    public static String of(Throwable e) {
        if (e instanceof SafetensorsException || e instanceof StorageException) {
            return e.getMessage();
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m;
    }
}
