package io.warmstage.device;

import static io.warmstage.device.PinnedRingTest.crc32c;
import static io.warmstage.device.PinnedRingTest.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warmstage.memory.ChunkBuffer;
import io.warmstage.memory.ChunkBuffers;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cpu device's asynchronous writes from pooled buffers: one lane per staging file. */
class HostBufferLaneTest {
    private static final int PIECE = 64 << 10;

    @TempDir Path dir;

    private HostDevice device;
    private ChunkBuffers pool;

    @BeforeEach
    void openDevice() {
        device = new HostDevice(dir.resolve("device"));
        pool = new ChunkBuffers(PIECE, 64L << 20);
    }

    @AfterEach
    void closeDevice() {
        device.close();
    }

    @Test
    void pooledWritesInAnyOrderLandWhereTheyBelongAndGiveTheirBuffersBack() throws Exception {
        int pieces = 40;
        byte[] origin = random(pieces * PIECE - 123, 7);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < pieces; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(3));
        try (HostBuffer buffer = device.allocate(origin.length)) {
            long ticket = 0;
            for (int i : order) {
                int from = i * PIECE;
                int length = Math.min(PIECE, origin.length - from);
                ChunkBuffer owner = pool.take();
                ByteBuffer src = owner.memory().clear();
                src.put(origin, from, length).flip();
                buffer.copyFromHost(from, src, owner);
                assertThat(src.hasRemaining()).isFalse();
                owner.release(); // the record is done with it; the lane holds its own reference
                assertThat(buffer.copiesIssued()).isEqualTo(++ticket);
            }
            buffer.synchronize();

            assertThat(buffer.landed(ticket)).isTrue();
            assertThat(buffer.crc32c(0, origin.length)).isEqualTo(crc32c(origin));
            assertThat(pool.idle()).as("every buffer back in the pool").isEqualTo(pool.allocated());
            assertThat(pool.allocated())
                    .as("a lane holds at most its depth")
                    .isLessThanOrEqualTo(HostBuffer.LANE_DEPTH + 1);
        }
    }

    @Test
    void theFilesOfAModelAreWrittenOnTheirOwnLanes() throws Exception {
        byte[][] origins = {random(5 * PIECE, 1), random(3 * PIECE + 9, 2), random(PIECE, 3)};
        List<HostBuffer> buffers = new ArrayList<>();
        try {
            for (int f = 0; f < origins.length; f++) {
                buffers.add(device.allocateFile("file-" + f, 0, origins[f].length));
            }
            for (int at = 0; at < 5 * PIECE; at += PIECE) { // one piece of each file in turn
                for (int f = 0; f < origins.length; f++) {
                    if (at < origins[f].length) {
                        int length = Math.min(PIECE, origins[f].length - at);
                        ChunkBuffer owner = pool.take();
                        ByteBuffer src = owner.memory().clear();
                        src.put(origins[f], at, length).flip();
                        buffers.get(f).copyFromHost(at, src, owner);
                        owner.release();
                    }
                }
            }
            for (int f = 0; f < origins.length; f++) {
                HostBuffer b = buffers.get(f);
                b.synchronize();
                assertThat(b.landed(b.copiesIssued())).isTrue();
                assertThat(Files.readAllBytes(b.path())).isEqualTo(origins[f]);
            }
            assertThat(pool.idle()).isEqualTo(pool.allocated());
        } finally {
            buffers.forEach(HostBuffer::close);
        }
    }

    @Test
    void closeDropsWritesNotStartedDeletesTheFileAndGivesEveryBufferBack() throws Exception {
        HostBuffer buffer = device.allocate(20L * PIECE);
        Path file = buffer.path();
        List<ChunkBuffer> owners = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ChunkBuffer owner = pool.take();
            owners.add(owner);
            ByteBuffer src = owner.memory().clear();
            src.put(random(PIECE, i)).flip();
            buffer.copyFromHost((long) i * PIECE, src, owner);
            owner.release();
        }
        buffer.close();

        assertThat(Files.exists(file)).isFalse();
        assertThat(owners).allSatisfy(o -> assertThat(o.references()).isZero());
        assertThat(pool.idle()).isEqualTo(pool.allocated());
        assertThatThrownBy(() -> buffer.copyFromHost(0, ByteBuffer.allocate(1), pool.take()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void aWriteWhoseBufferCannotBeGivenBackFailsTheFileInsteadOfWedgingItsLane() throws Exception {
        // The lane's bookkeeping must survive anything its writer thread meets: here the pooled
        // buffer's unpinning throws when the writer gives it back.
        HostDevice own = new HostDevice(dir.resolve("own")); // a wedged lane would hang close
        HostBuffer buffer = own.allocate(PIECE);
        long deadline = System.nanoTime() + 30_000_000_000L;
        java.util.concurrent.atomic.AtomicBoolean thrown =
                new java.util.concurrent.atomic.AtomicBoolean();
        while (!thrown.get()) {
            assertThat(System.nanoTime()).as("the writer gave a buffer back").isLessThan(deadline);
            ChunkBuffers small = new ChunkBuffers(PIECE, 1);
            ChunkBuffer spare = small.take();
            ChunkBuffer owner = small.take();
            spare.release(); // the pool's idle place is taken: the owner's memory is freed
            java.util.concurrent.atomic.AtomicBoolean given =
                    new java.util.concurrent.atomic.AtomicBoolean();
            owner.pinnedBy(
                    () -> {
                        given.set(true);
                        if (Thread.currentThread().getName().startsWith("warmstage-staging")) {
                            thrown.set(true);
                            throw new IllegalStateException("unpin failed");
                        }
                    });
            ByteBuffer src = owner.memory().clear();
            src.put(random(PIECE, 5)).flip();
            buffer.copyFromHost(0, src, owner);
            owner.release();
            while (!given.get()) {
                assertThat(System.nanoTime()).as("buffer given back").isLessThan(deadline);
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        }
        java.util.concurrent.CompletableFuture<Void> sync =
                java.util.concurrent.CompletableFuture.runAsync(
                        () -> {
                            try {
                                buffer.synchronize();
                            } catch (DeviceException e) {
                                throw new java.util.concurrent.CompletionException(e);
                            }
                        });
        try {
            assertThatThrownBy(() -> sync.get(10, java.util.concurrent.TimeUnit.SECONDS))
                    .as("synchronize ends")
                    .isInstanceOf(java.util.concurrent.ExecutionException.class)
                    .hasMessageContaining("unpin failed")
                    .hasMessageContaining(buffer.path().toString());
        } finally {
            java.util.concurrent.CompletableFuture.runAsync(own::close)
                    .get(10, java.util.concurrent.TimeUnit.SECONDS); // close ends too
        }
    }

    @Test
    void writesWithoutAnOwnerAreSynchronous() throws Exception {
        byte[] origin = random(3 * PIECE, 9);
        try (HostBuffer buffer = device.allocate(origin.length)) {
            buffer.copyFromHost(0, ByteBuffer.wrap(origin), null);

            assertThat(buffer.copiesIssued()).isZero();
            assertThat(Files.readAllBytes(buffer.path())).isEqualTo(origin);
        }
    }
}
