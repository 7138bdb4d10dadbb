package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import org.junit.jupiter.api.Test;

/** {@link FlinkFsErrors}: which Hadoop faults are final, and what the messages say. */
class FlinkFsErrorsTest {
    private static final URI URI_ = URI.create("s3://bucket/dir/model.safetensors");
    private static final String WHERE =
            "s3://bucket/dir/model.safetensors (bucket 'bucket', key 'dir/model.safetensors')";

    @Test
    void notFoundIsAFinal404() {
        StorageException e = FlinkFsErrors.map(URI_, "stat", new FileNotFoundException("x"));

        assertThat(e.retryable()).isFalse();
        assertThat(e).hasMessage(WHERE + ": stat: not found (404)");
    }

    @Test
    void accessDeniedIsAFinal403() {
        StorageException e = FlinkFsErrors.map(URI_, "open", new AccessDeniedException("x"));

        assertThat(e.retryable()).isFalse();
        assertThat(e)
                .hasMessage(
                        WHERE
                                + ": open: access denied (403); check the credentials and the"
                                + " bucket policy");
    }

    @Test
    void hadoopChangeDetectionIsFinalObjectChanged() {
        StorageException e = FlinkFsErrors.map(URI_, "read", new RemoteFileChangedException());

        assertThat(e.retryable()).isFalse();
        assertThat(e)
                .hasMessage(
                        WHERE
                                + ": read: object changed (412): it was overwritten while being read");
    }

    @Test
    void timeoutsAndOtherFaultsAreRetryableWithTheirFirstLine() {
        StorageException e =
                FlinkFsErrors.map(URI_, "read", new SocketTimeoutException("timed out\nmore"));

        assertThat(e.retryable()).isTrue();
        assertThat(e).hasMessage(WHERE + ": read: SocketTimeoutException: timed out");
    }

    /** Stands in for Hadoop's class of that name, which the mapping recognises by name. */
    private static final class RemoteFileChangedException extends IOException {
        private static final long serialVersionUID = 1L;
    }
}
