package io.warmstage.cache;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link CacheWriter}'s state for one file: its {@link PendingEntry} (created on the pool), the
 * writes still running, and the first failure, which poisons the file.
 */
final class FileWrite {
    private final CompletableFuture<PendingEntry> entry;
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    FileWrite(CompletableFuture<PendingEntry> entry) {
        this.entry = entry;
        entry.whenComplete((e, t) -> fail(t));
    }

    /** Runs {@code write} after the entry exists, unless poisoned; failures poison the file. */
    CompletableFuture<Void> write(EntryAction write, Executor pool) {
        CompletableFuture<Void> w =
                entry.thenAcceptAsync(e -> runUnlessPoisoned(write, e), pool)
                        .exceptionally(
                                t -> {
                                    fail(t);
                                    return null;
                                });
        pending.add(w);
        w.whenComplete((v, t) -> pending.remove(w));
        return w;
    }

    /** Completes once every write issued so far has finished (successfully or not). */
    CompletableFuture<Void> writesDone() {
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                .thenCompose(v -> entry.handle((e, t) -> null));
    }

    /** The entry, or null when it could not be created or is not created yet. */
    PendingEntry entryOrNull() {
        return entry.isDone() && !entry.isCompletedExceptionally() ? entry.join() : null;
    }

    /** The first failure's message, or null when none. */
    String failureReason() {
        Throwable t = failure.get();
        return t == null ? null : String.valueOf(t.getMessage());
    }

    /** Why the cache does not trust the file's version, or null when it does. */
    String untrustedReason() {
        for (Throwable t = failure.get(); t != null; t = t.getCause()) {
            if (t instanceof UntrustedVersionException u) {
                return u.getMessage();
            }
        }
        return null;
    }

    /** Records {@code t} (unwrapped) as the file's failure if it is the first. */
    void fail(Throwable t) {
        if (t != null) {
            Throwable cause =
                    t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            failure.compareAndSet(null, cause);
        }
    }

    private void runUnlessPoisoned(EntryAction write, PendingEntry e) {
        if (failure.get() != null) {
            return;
        }
        try {
            write.run(e);
        } catch (Exception ex) {
            throw new CompletionException(ex);
        }
    }

    /** Something done to a pending entry that may throw. */
    @FunctionalInterface
    interface EntryAction {
        void run(PendingEntry entry) throws Exception;
    }
}
