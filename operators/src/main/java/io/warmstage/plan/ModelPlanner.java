package io.warmstage.plan;

import io.warmstage.cache.LocalCache;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsException;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.ShardIndex;
import io.warmstage.format.TensorInfo;
import io.warmstage.storage.ObjectStore;
import io.warmstage.storage.ObjectStores;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.RangeReads;
import io.warmstage.storage.RetryPolicy;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves a model into files: fetches and checks a sharded checkpoint's index, stats each file,
 * pins its version, reads and validates its header with ranged reads. A model is all or nothing
 * here: if any of its files fails, every file of the model is planned as failed, before any tensor
 * byte is fetched.
 *
 * <p>When the host-local cache holds a verified copy of a file's pinned version, the header is read
 * from that copy and nothing but the stat reaches the origin.
 *
 * <p>Plain Java: the Flink source's enumerator, the staging operator, the Java API and the CLI's
 * {@code inspect} all plan with it. Failures are reported in the plans, one line each ({@link
 * ErrorDescription}), not thrown.
 */
public final class ModelPlanner {
    /** Largest index.json read, in bytes: an index is a few MB even for 1000-shard models. */
    static final long MAX_INDEX_BYTES = 64L << 20;

    private final ObjectStores stores;
    private final RetryPolicy retry;
    private final LocalCache cache;
    private final int prefetch;

    /**
     * @param stores storage backends by scheme
     * @param retry retry policy for every read
     * @param cache the host-local cache to read headers from, or null
     * @param prefetchBytes bytes read in the first request to each file
     */
    public ModelPlanner(
            ObjectStores stores, RetryPolicy retry, LocalCache cache, int prefetchBytes) {
        this.stores = stores;
        this.retry = retry;
        this.cache = cache;
        this.prefetch = Math.max(8, prefetchBytes);
    }

    /** Plans every file of {@code model}; never throws for a bad model, it plans failures. */
    public List<FilePlan> plan(ModelSpec model) {
        List<String> files;
        ShardIndex index = null;
        try {
            if (model.isIndex()) {
                index = readIndex(model.uri());
                files = resolveShards(model.uri(), index);
            } else {
                files = List.of(ObjectStores.toUri(model.uri()).toString());
            }
        } catch (Exception e) {
            return List.of(FilePlan.failed(model.name(), 1, model.uri(), ErrorDescription.of(e)));
        }
        return planFiles(model, files, index);
    }

    /**
     * What identifies the model's current bytes, without reading any header: each file's URI, size
     * and version token (ETag, generation or modification time), after reading the index of a
     * sharded model. Two equal fingerprints mean nothing to re-stage.
     *
     * @throws Exception when the index or a file cannot be read (the caller then re-plans the
     *     model, which reports the reason)
     */
    public String fingerprint(ModelSpec model) throws Exception {
        List<String> files =
                model.isIndex()
                        ? resolveShards(model.uri(), readIndex(model.uri()))
                        : List.of(ObjectStores.toUri(model.uri()).toString());
        StringBuilder sb = new StringBuilder();
        for (String f : files) {
            URI uri = URI.create(f);
            sb.append(f).append(' ').append(RangeReads.stat(stores.forUri(uri), uri, retry));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The fingerprint of a plan: as {@link #fingerprint(ModelSpec)} gives for the same bytes. */
    public static String fingerprint(List<FilePlan> plans) {
        StringBuilder sb = new StringBuilder();
        for (FilePlan p : plans) {
            if (p.isFailure()) {
                return null; // a failed model is planned again on the next refresh
            }
            sb.append(p.uri()).append(' ').append(p.version()).append('\n');
        }
        return sb.toString();
    }

    private List<FilePlan> planFiles(ModelSpec model, List<String> files, ShardIndex index) {
        List<FilePlan> plans = new ArrayList<>(files.size());
        String firstError = null;
        for (int i = 0; i < files.size(); i++) {
            FilePlan p = planFile(model.name(), files.size(), files.get(i), model.version());
            if (p.isFailure() && index != null) {
                String reason =
                        "index "
                                + index.indexUri()
                                + " names shard '"
                                + index.shardFiles().get(i)
                                + "': "
                                + p.error();
                p = FilePlan.failed(model.name(), files.size(), p.uri(), reason);
            }
            plans.add(p);
            if (p.isFailure() && firstError == null) {
                firstError = p.error();
            }
        }
        if (firstError != null) {
            return failAll(model, files, plans, firstError);
        }
        if (index == null) {
            return plans;
        }
        try {
            return withIndexAssignments(plans, index);
        } catch (SafetensorsException e) {
            return failAll(model, files, plans, e.inFile(model.uri()).getMessage());
        }
    }

    /**
     * Checks the shards against the index (every shard and listed tensor present, total_size) and
     * marks, per shard, the tensors the index assigns elsewhere: the index is the allow-list.
     */
    private static List<FilePlan> withIndexAssignments(List<FilePlan> plans, ShardIndex index)
            throws SafetensorsException {
        Map<String, SafetensorsHeader> byShard = new LinkedHashMap<>();
        for (int i = 0; i < plans.size(); i++) {
            byShard.put(index.shardFiles().get(i), plans.get(i).header());
        }
        Map<String, List<TensorInfo>> assigned = index.tensorsByShard(byShard);
        List<FilePlan> out = new ArrayList<>(plans.size());
        for (int i = 0; i < plans.size(); i++) {
            FilePlan p = plans.get(i);
            Set<String> keep = new HashSet<>();
            assigned.get(index.shardFiles().get(i)).forEach(t -> keep.add(t.name()));
            List<String> skip = new ArrayList<>();
            p.header().tensors().stream()
                    .filter(t -> !keep.contains(t.name()))
                    .forEach(t -> skip.add(t.name()));
            out.add(p.skipping(skip));
        }
        return out;
    }

    private static List<FilePlan> failAll(
            ModelSpec model, List<String> files, List<FilePlan> plans, String error) {
        List<FilePlan> failed = new ArrayList<>(files.size());
        for (FilePlan p : plans) {
            String reason =
                    p.isFailure() ? p.error() : "model '" + model.name() + "' failed: " + error;
            failed.add(FilePlan.failed(model.name(), files.size(), p.uri(), reason));
        }
        return failed;
    }

    private FilePlan planFile(String model, int modelFiles, String file, String expected) {
        try {
            URI uri = URI.create(file);
            ObjectVersion version = RangeReads.stat(stores.forUri(uri), uri, retry);
            if (expected != null && !version.hasToken(expected)) {
                return FilePlan.failed(
                        model,
                        modelFiles,
                        file,
                        file
                                + ": version "
                                + version.etag()
                                + " at the origin, the manifest expects "
                                + expected);
            }
            SafetensorsHeader header = readHeader(uri, version);
            return new FilePlan(model, modelFiles, file, version, header, null);
        } catch (Exception e) {
            return FilePlan.failed(model, modelFiles, file, ErrorDescription.of(e));
        }
    }

    /**
     * Reads and validates the header of {@code uri} at {@code version}, from the host cache when it
     * holds that version.
     *
     * @throws SafetensorsException if the header breaks a format rule
     * @throws IOException if a read fails
     */
    public SafetensorsHeader readHeader(URI uri, ObjectVersion version)
            throws IOException, SafetensorsException {
        Optional<LocalCache.CachedCopy> copy =
                cache == null ? Optional.empty() : cache.find(uri, version);
        byte[] head;
        try {
            head = readHeaderBytes(uri, version, copy.map(LocalCache.CachedCopy::data));
        } catch (SafetensorsException e) {
            if (copy.isEmpty() || !copy.get().entry().checkableWhileStaged()) {
                throw e;
            }
            // The length prefix of a copy not read whole yet: corrupt, unless the origin agrees.
            cache.reject(uri, version, "its header is not valid: " + e.getMessage());
            copy = Optional.empty();
            head = readHeaderBytes(uri, version, Optional.empty());
        } catch (IOException e) {
            if (copy.isEmpty()) {
                throw e;
            }
            // The copy went away or changed since it was found: the origin has the same version.
            copy = Optional.empty();
            head = readHeaderBytes(uri, version, Optional.empty());
        }
        if (copy.isPresent() && copy.get().entry().checkableWhileStaged()) {
            // The copy's header is checked here; its tensors while they are staged.
            int crc = io.warmstage.memory.Crc32c.of(ByteBuffer.wrap(head));
            long want = copy.get().entry().headerCrc32c();
            if (Integer.toUnsignedLong(crc) != want) {
                cache.reject(
                        uri,
                        version,
                        String.format(
                                "its header's CRC-32C is %08x, its sidecar's %08x", crc, want));
                head = readHeaderBytes(uri, version, Optional.empty());
            }
        }
        return HeaderParser.parse(
                Arrays.copyOfRange(head, 8, head.length), version.size(), uri.toString());
    }

    /**
     * The file's first {@code 8 + N} bytes (length prefix and header JSON), from {@code cached}
     * when present, else from the origin.
     */
    private byte[] readHeaderBytes(URI uri, ObjectVersion version, Optional<Path> cached)
            throws IOException, SafetensorsException {
        String name = uri.toString();
        int first = (int) Math.min(prefetch, version.size());
        byte[] head = read(uri, version, cached, 0, first);
        long n = HeaderParser.readHeaderLength(head, version.size(), name);
        long headerEnd = 8 + n;
        if (headerEnd <= head.length) {
            return Arrays.copyOf(head, (int) headerEnd);
        }
        byte[] all = Arrays.copyOf(head, Math.toIntExact(headerEnd));
        byte[] rest = read(uri, version, cached, head.length, (int) (headerEnd - head.length));
        System.arraycopy(rest, 0, all, head.length, rest.length);
        return all;
    }

    private byte[] read(URI uri, ObjectVersion v, Optional<Path> cached, long offset, int length)
            throws IOException {
        byte[] out = new byte[length];
        if (length == 0) {
            return out;
        }
        URI from = cached.map(Path::toUri).orElse(uri);
        ObjectStore store = stores.forUri(from);
        ObjectVersion version = cached.isPresent() ? store.stat(from) : v;
        RangeReads.readFully(store, from, version, offset, length, ByteBuffer.wrap(out), retry);
        return out;
    }

    private ShardIndex readIndex(String indexUri) throws IOException, SafetensorsException {
        URI uri = ObjectStores.toUri(indexUri);
        ObjectStore store = stores.forUri(uri);
        ObjectVersion v = RangeReads.stat(store, uri, retry);
        if (v.size() > MAX_INDEX_BYTES) {
            throw new SafetensorsException(
                    SafetensorsException.Reason.INVALID_INDEX,
                    uri.toString(),
                    null,
                    "index is "
                            + v.size()
                            + " bytes, more than the "
                            + MAX_INDEX_BYTES
                            + " bytes an index.json may have");
        }
        byte[] bytes = read(uri, v, Optional.empty(), 0, (int) v.size());
        return ShardIndex.parse(bytes, uri.toString());
    }

    private static List<String> resolveShards(String indexUri, ShardIndex index) {
        List<String> files = new ArrayList<>();
        for (String shard : index.shardFiles()) {
            files.add(shardUri(indexUri, shard));
        }
        return files;
    }

    /**
     * The URI of shard file {@code shard} (a weight_map value) of the index at {@code indexUri}, as
     * the planner stages it.
     *
     * @throws IllegalArgumentException if {@code indexUri} is not a supported location or {@code
     *     shard} not a path
     */
    public static String shardUri(String indexUri, String shard) {
        URI base = ObjectStores.toUri(indexUri);
        if ("file".equals(base.getScheme())) {
            // Path keeps the canonical file:/// form that URI.resolve would drop.
            return Path.of(base).resolveSibling(shard).normalize().toUri().toString();
        }
        return base.resolve(encodePath(shard)).toString();
    }

    private static String encodePath(String relative) {
        try {
            return new URI(null, null, relative, null).getRawPath();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("shard name '" + relative + "' is not a path", e);
        }
    }
}
