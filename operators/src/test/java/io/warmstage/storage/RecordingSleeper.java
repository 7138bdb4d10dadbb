package io.warmstage.storage;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A {@link Sleeper} that records each wait and advances a fake clock instead of sleeping. */
class RecordingSleeper implements Sleeper {
    private final List<Duration> waits = new CopyOnWriteArrayList<>();
    private volatile long now;

    @Override
    public void sleep(Duration duration) {
        waits.add(duration);
        now += duration.toNanos();
    }

    @Override
    public long nanoTime() {
        return now;
    }

    /** Advances the fake clock without a recorded wait (time spent on a request). */
    void advance(Duration d) {
        now += d.toNanos();
    }

    List<Duration> waits() {
        return List.copyOf(waits);
    }
}
