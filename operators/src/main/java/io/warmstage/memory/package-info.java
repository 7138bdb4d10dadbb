/**
 * Pooled off-heap buffers for chunk bytes: one read from storage lands in a {@link
 * io.warmstage.memory.ChunkBuffer} from a {@link io.warmstage.memory.ChunkBuffers} pool, travels by
 * reference to staging and to the cache writer, and goes back to the pool when both are done.
 */
package io.warmstage.memory;
