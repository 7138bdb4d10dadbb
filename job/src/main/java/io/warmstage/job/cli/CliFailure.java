package io.warmstage.job.cli;

/** An expected failure: printed as one line, without a stack trace, with exit status 1. */
public final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CliFailure(String message) {
        super(message);
    }
}
