package io.warmstage.cache;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;

/**
 * A {@link ResultFuture} that completes a {@link CompletableFuture}, as the async operator would.
 */
final class CompletingResultFuture<T> implements ResultFuture<T> {
    final CompletableFuture<List<T>> future = new CompletableFuture<>();

    @Override
    public void complete(Collection<T> result) {
        if (!future.complete(new ArrayList<>(result))) {
            throw new IllegalStateException("result future completed twice");
        }
    }

    @Override
    public void completeExceptionally(Throwable error) {
        future.completeExceptionally(error);
    }

    @Override
    public void complete(CollectionSupplier<T> supplier) {
        try {
            complete(supplier.get());
        } catch (Exception e) {
            completeExceptionally(e);
        }
    }

    /** The result, waiting up to 30 s for it. */
    List<T> get() throws Exception {
        return future.get(30, TimeUnit.SECONDS);
    }
}
