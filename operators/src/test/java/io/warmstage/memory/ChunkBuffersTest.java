package io.warmstage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ChunkBuffersTest {

    @Test
    void aBufferGoesBackOnlyWhenItsLastReferenceIsReleased() {
        ChunkBuffers pool = new ChunkBuffers(1024, 4096);
        ChunkBuffer b = pool.take();
        assertThat(b.memory().isDirect()).isTrue();
        assertThat(b.capacity()).isEqualTo(1024);
        b.retain(); // the cache writer's reference
        b.release(); // the reader's
        assertThat(pool.idle()).isZero();
        assertThat(b.references()).isEqualTo(1);
        b.release();
        assertThat(pool.idle()).isEqualTo(1);
        assertThat(b.references()).isZero();
        assertThatThrownBy(b::retain).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void reusedBuffersKeepTheirMemoryAndAreNotZeroed() {
        ChunkBuffers pool = new ChunkBuffers(64, 1024);
        ChunkBuffer first = pool.take();
        ByteBuffer memory = first.memory();
        memory.put(0, (byte) 42);
        first.release();
        ChunkBuffer second = pool.take();
        assertThat(second).isSameAs(first);
        assertThat(second.memory().get(0)).isEqualTo((byte) 42);
        assertThat(second.references()).isEqualTo(1);
        assertThat(pool.allocated()).isEqualTo(1);
    }

    @Test
    void idleBuffersBeyondTheCapAreFreed() {
        ChunkBuffers pool = new ChunkBuffers(64, 128); // keeps 2 idle
        ChunkBuffer[] taken = new ChunkBuffer[5];
        for (int i = 0; i < taken.length; i++) {
            taken[i] = pool.take();
        }
        assertThat(pool.allocated()).isEqualTo(5);
        for (ChunkBuffer b : taken) {
            b.release();
        }
        assertThat(pool.idle()).isEqualTo(2);
        assertThat(pool.allocated()).isEqualTo(2);
    }

    @Test
    void extraReleasesAreIgnored() {
        ChunkBuffers pool = new ChunkBuffers(64, 1024);
        ChunkBuffer b = pool.take();
        b.release();
        b.release();
        assertThat(pool.idle()).isEqualTo(1);
        ChunkBuffer again = pool.take();
        assertThat(again.references()).isEqualTo(1);
    }
}
