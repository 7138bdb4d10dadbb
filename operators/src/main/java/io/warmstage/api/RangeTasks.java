package io.warmstage.api;

import io.warmstage.device.DeviceException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The range tasks of one file load: a fixed number of tasks run on a pool; the first failure stops
 * the rest (tasks not started yet return at once, running ones are interrupted), and {@link
 * #awaitAll} returns or throws only once every task has ended, so that nothing still writes into
 * the file's device buffer when the caller frees it. Thread-safe.
 */
final class RangeTasks {
    /** One range's work. */
    @FunctionalInterface
    interface Work {
        void run() throws Exception;
    }

    private final CountDownLatch ended;
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopped;

    /** For {@code count} tasks, each of which must be handed to an executor once. */
    RangeTasks(int count) {
        this.ended = new CountDownLatch(count);
    }

    /** Wraps {@code work} as one of the tasks. */
    Runnable task(Work work) {
        return () -> {
            Thread me = Thread.currentThread();
            running.add(me);
            try {
                if (!stopped) {
                    work.run();
                }
            } catch (Throwable t) {
                fail(t);
            } finally {
                running.remove(me);
                Thread.interrupted(); // a stop meant for this task must not reach the next one
                ended.countDown();
            }
        };
    }

    /**
     * Waits until every task has ended, then throws the first failure. If this thread is
     * interrupted, the tasks are stopped and still waited for, then the interrupt is reported.
     *
     * @throws IOException the first task's I/O failure, or {@link InterruptedIOException}
     * @throws DeviceException the first task's device failure
     */
    void awaitAll() throws IOException, DeviceException {
        boolean interrupted = false;
        while (true) {
            try {
                ended.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                fail(new InterruptedIOException("interrupted while loading"));
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable t = failure.get();
        if (t == null) {
            return;
        }
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof DeviceException d) {
            throw d;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IOException(t.getMessage(), t);
    }

    private void fail(Throwable t) {
        if (failure.compareAndSet(null, t)) {
            stopped = true;
            Thread me = Thread.currentThread();
            for (Thread other : running) {
                if (other != me) {
                    other.interrupt();
                }
            }
        }
    }
}
