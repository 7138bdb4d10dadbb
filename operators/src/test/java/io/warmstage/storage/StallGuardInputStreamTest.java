package io.warmstage.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StallGuardInputStreamTest {
    private static final URI URI_A = URI.create("http://127.0.0.1:1/m.safetensors");

    /** A body fed by another thread; like an HTTP body, close() wakes a blocked read. */
    static final class DripBody extends java.io.InputStream {
        private final java.util.concurrent.BlockingQueue<byte[]> chunks =
                new java.util.concurrent.LinkedBlockingQueue<>();
        private static final byte[] CLOSED = new byte[0];
        private byte[] current = new byte[0];
        private int pos;

        void feed(byte[] b) {
            chunks.add(b);
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) throws java.io.IOException {
            while (pos == current.length) {
                try {
                    current = chunks.take();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                pos = 0;
                if (current == CLOSED) {
                    chunks.add(CLOSED);
                    throw new java.io.IOException("closed");
                }
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() {
            chunks.add(CLOSED);
        }
    }

    @Test
    void aBodyThatTricklesIsClosedAsStalledAndRetryable() throws Exception {
        DripBody body = new DripBody();
        ScheduledExecutorService dripper = Executors.newSingleThreadScheduledExecutor();
        dripper.scheduleAtFixedRate(() -> body.feed(new byte[10]), 0, 50, TimeUnit.MILLISECONDS);
        try (StallGuardInputStream in =
                new StallGuardInputStream(body, URI_A, Duration.ofMillis(300))) {
            assertThatThrownBy(
                            () -> {
                                byte[] buf = new byte[64];
                                while (in.read(buf, 0, buf.length) >= 0) {
                                    // drain until the guard closes the trickling body
                                }
                            })
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("under 65536 bytes in 300 ms")
                    .matches(e -> ((StorageException) e).retryable());
        } finally {
            dripper.shutdownNow();
        }
    }

    @Test
    void aBodyThatFlowsIsReadWhole() throws Exception {
        byte[] data = new byte[1 << 20];
        new java.util.Random(1).nextBytes(data);
        try (StallGuardInputStream in =
                new StallGuardInputStream(
                        new ByteArrayInputStream(data), URI_A, Duration.ofSeconds(5))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }
}
