package io.warmstage.api;

import io.warmstage.cache.LocalCache;
import io.warmstage.cache.PendingEntry;
import io.warmstage.device.Device;
import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.format.SafetensorsException;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.plan.ModelPlanner;
import io.warmstage.plan.ReadOptions;
import io.warmstage.storage.ObjectStore;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RangeReads;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.configuration.Configuration;

/**
 * Loads one file: stat and pin its version, read and validate the header (from the cache when it
 * has the version), allocate the data section on the device, read it in ranges with several reads
 * in flight, copy each range to the device, and publish a verified cache entry on a miss.
 */
final class FileLoader implements AutoCloseable {
    private final ObjectStores stores;
    private final LocalCache cache;
    private final long rangeSize;
    private final ExecutorService pool;
    private final ModelPlanner headers;

    FileLoader(Configuration config, Path cacheDir) throws IOException {
        this.stores = ObjectStores.create(config);
        this.cache = cacheDir == null ? null : LocalCache.open(cacheDir, config);
        this.rangeSize = config.get(ReadOptions.SPLIT_SIZE).getBytes();
        this.pool = Executors.newFixedThreadPool(config.get(ReadOptions.READS_IN_FLIGHT));
        this.headers = new ModelPlanner(stores, stores.retryPolicy(), cache, 65536);
    }

    Map<String, Tensor> load(String uriText, Device device)
            throws IOException, SafetensorsException, DeviceException {
        URI uri = ObjectStores.toUri(uriText);
        ObjectVersion version = RangeReads.stat(stores.forUri(uri), uri, stores.retryPolicy());
        SafetensorsHeader header = headers.readHeader(uri, version);
        Optional<Path> hit = cache == null ? Optional.empty() : cache.lookup(uri, version);
        URI from = hit.map(Path::toUri).orElse(uri);
        ObjectVersion fromVersion = hit.isPresent() ? stores.forUri(from).stat(from) : version;
        PendingEntry entry =
                cache != null && hit.isEmpty() && LocalCache.trusts(version)
                        ? cache.begin(uri, version)
                        : null;
        DeviceBuffer data = device.allocate(header.dataSize());
        try {
            copyAll(from, fromVersion, header, data, entry);
            if (entry != null) {
                entry.commit();
            }
            if (header.tensors().isEmpty()) {
                data.close(); // no tensor refers to it, so release() could never free it
            }
            return tensors(header, data);
        } catch (IOException | DeviceException | RuntimeException e) {
            data.close();
            if (entry != null) {
                entry.abort();
            }
            throw e;
        }
    }

    /**
     * Reads and copies every range on the pool and waits for all of them. When one range fails, the
     * others are stopped (not started, or interrupted) and waited for before this returns, so the
     * caller may free the device buffer: no loader thread copies into it any more.
     */
    private void copyAll(
            URI from, ObjectVersion v, SafetensorsHeader h, DeviceBuffer data, PendingEntry entry)
            throws IOException, DeviceException {
        ObjectStore store = stores.forUri(from);
        long start = entry == null ? h.dataStart() : 0;
        int count = Math.toIntExact((v.size() - start + rangeSize - 1) / rangeSize);
        RangeTasks tasks = new RangeTasks(Math.max(0, count));
        for (long off = start; off < v.size(); off += rangeSize) {
            long at = off;
            int len = (int) Math.min(rangeSize, v.size() - off);
            pool.execute(tasks.task(() -> copyRange(store, from, v, at, len, h, data, entry)));
        }
        tasks.awaitAll();
        data.synchronize();
    }

    private Void copyRange(
            ObjectStore store,
            URI from,
            ObjectVersion v,
            long at,
            int len,
            SafetensorsHeader h,
            DeviceBuffer data,
            PendingEntry entry)
            throws IOException, DeviceException {
        ByteBuffer buf = ByteBuffer.allocate(len);
        RangeReads.readFully(store, from, v, at, len, buf, stores.retryPolicy());
        buf.flip();
        if (entry != null) {
            entry.write(at, buf.duplicate());
        }
        long dataStart = h.dataStart();
        if (at + len > dataStart) {
            int skip = (int) Math.max(0, dataStart - at);
            buf.position(skip);
            synchronized (data) {
                data.copyFromHost(Math.max(at, dataStart) - dataStart, buf);
            }
        }
        return null;
    }

    private static Map<String, Tensor> tensors(SafetensorsHeader h, DeviceBuffer data) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (TensorInfo t : h.tensors()) {
            out.put(
                    t.name(),
                    new Tensor(t.name(), t.dtype(), t.shape(), data, t.begin(), t.byteSize()));
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        pool.shutdownNow();
        stores.close();
    }
}
