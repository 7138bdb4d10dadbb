package io.warmstage.source.reader;

import io.warmstage.registry.KeptSegments;
import io.warmstage.registry.StagedEntry;
import io.warmstage.registry.StagedSet;
import io.warmstage.registry.StagedTensor;
import io.warmstage.source.split.DataSplit;
import io.warmstage.storage.FileId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Bytes of a file that this host already holds in staging files: partly staged files kept for a
 * restore ({@link KeptSegments}) and complete ones its staged set lists ({@link StagedSet}). After
 * a failover, a split whose whole range lies in such verified ranges is read from the staging file
 * instead of the origin. A range counts only once its bytes, read from the kept file, match the
 * CRC-32C recorded when they arrived; anything else is read from the origin as before.
 *
 * <p>Each file is looked up once (the kept files are opened then, so a later rename or delete by
 * the slot that adopts or discards them does not matter). Thread-safe; {@link #close} closes the
 * open files.
 */
final class KeptBytes implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeptBytes.class);

    private final Path root;
    private final Map<FileId, Verified> files = new ConcurrentHashMap<>();

    /**
     * @param root this host's staging area (where {@code job-<id>/slot-<n>/} directories are)
     */
    KeptBytes(Path root) {
        this.root = root;
    }

    /** Verified ranges of one file: begin -> {end, index of the channel}. */
    private record Verified(TreeMap<Long, long[]> ranges, List<FileChannel> channels) {}

    /**
     * Reads {@code dst.remaining()} bytes at file offset {@code pos} of the split's file from a
     * kept file, if {@code [pos, pos + dst.remaining())} lies in one verified range.
     *
     * @return whether the bytes were read (false: read them from the origin; {@code dst} is then
     *     unchanged)
     */
    boolean read(DataSplit split, long pos, ByteBuffer dst) {
        FileChannel ch = channelFor(split, pos, pos + dst.remaining());
        if (ch == null) {
            return false;
        }
        int start = dst.position();
        try {
            for (long at = pos; dst.hasRemaining(); ) {
                int n = ch.read(dst, at);
                if (n < 0) {
                    throw new IOException("ends at byte " + at);
                }
                at += n;
            }
            return true;
        } catch (IOException e) {
            dst.position(start);
            return false;
        }
    }

    /** Whether the whole split lies in a verified range of a kept file. */
    boolean covers(DataSplit split) {
        return channelFor(split, split.offset(), split.end()) != null;
    }

    private FileChannel channelFor(DataSplit split, long from, long to) {
        Verified v = files.computeIfAbsent(split.file(), k -> lookup(split));
        Map.Entry<Long, long[]> r = v.ranges().floorEntry(from);
        if (r == null || r.getValue()[0] < to) {
            return null;
        }
        return v.channels().get((int) r.getValue()[1]);
    }

    /** Finds, opens and checks the kept files of the split's pinned version on this host. */
    private Verified lookup(DataSplit split) {
        TreeMap<Long, long[]> ranges = new TreeMap<>();
        List<FileChannel> channels = new ArrayList<>();
        if (!io.warmstage.cache.LocalCache.trusts(split.version())) {
            // Only the size pins such a version: a staging file of an earlier job on this host
            // could hold what the origin served before a rewrite of the same size.
            return new Verified(ranges, channels);
        }
        var found =
                KeptSegments.find(
                        root, split.uri(), split.version().size(), split.version().etag());
        for (KeptSegments.Found f : found) {
            FileChannel ch;
            try {
                ch = FileChannel.open(f.kept());
            } catch (IOException e) {
                continue; // adopted or discarded meanwhile
            }
            int index = channels.size();
            channels.add(ch);
            List<long[]> segments = f.segments().segments();
            for (long[] s : segments == null ? List.<long[]>of() : segments) {
                if (s != null && s.length == 3 && !covered(ranges, s[0], s[1]) && matches(ch, s)) {
                    ranges.put(s[0], new long[] {s[1], index});
                }
            }
        }
        int published = addPublished(split, ranges, channels);
        merge(ranges);
        if (!found.isEmpty() || published > 0) {
            LOG.info(
                    "{}: {} verified bytes in {} kept and {} published staging file(s) on this"
                            + " host",
                    io.warmstage.storage.Redaction.uri(java.net.URI.create(split.uri())),
                    bytes(ranges),
                    found.size(),
                    published);
        }
        // A file without a verified range is never read: closed now, so that its shared memory
        // is freed once its slot deletes it, not when this reader closes.
        java.util.BitSet used = new java.util.BitSet();
        ranges.values().forEach(r -> used.set((int) r[1]));
        for (int i = used.nextClearBit(0); i < channels.size(); i = used.nextClearBit(i + 1)) {
            closeQuietly(channels.get(i));
        }
        return new Verified(ranges, channels);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // read-only
        }
    }

    /**
     * Adds the complete staging files of the split's pinned version that this host's staged set
     * lists in slot directories no live slot owns (a slot cut short keeps them in place): each
     * tensor with its entry's CRC-32C (not the header, which the entry does not checksum).
     *
     * @return how many files were added
     */
    private int addPublished(
            DataSplit split, TreeMap<Long, long[]> ranges, List<FileChannel> channels) {
        String uri = io.warmstage.storage.Redaction.stagedUri(java.net.URI.create(split.uri()));
        int added = 0;
        List<StagedEntry> entries;
        try {
            entries = StagedSet.at(root).entries();
        } catch (RuntimeException ex) {
            return 0; // no staged set to read: the origin serves the file
        }
        for (StagedEntry e : entries) {
            if (!candidate(e, uri, split)) {
                continue;
            }
            FileChannel ch;
            try {
                ch = FileChannel.open(Path.of(e.file()));
            } catch (IOException | RuntimeException ex) {
                continue; // withdrawn meanwhile
            }
            int index = channels.size();
            channels.add(ch);
            added++;
            // A published file's header is never served: its entry records no checksum of it,
            // and a same-length change (a metadata value) would pass any structural check. The
            // header's split comes from the origin (or a kept file's checked record).
            for (StagedTensor t : e.tensors() == null ? List.<StagedTensor>of() : e.tensors()) {
                long[] s;
                try {
                    s =
                            new long[] {
                                Math.addExact(e.dataStart(), t.begin()),
                                Math.addExact(e.dataStart(), t.dataOffsets().get(1)),
                                Integer.toUnsignedLong(t.crc32cValue())
                            };
                } catch (RuntimeException ex) {
                    continue; // offsets or checksum missing or out of range: not served
                }
                if (!covered(ranges, s[0], s[1]) && matches(ch, s)) {
                    ranges.put(s[0], new long[] {s[1], index});
                }
            }
        }
        return added;
    }

    /**
     * Whether {@code e} is a cpu staging file of the split's pinned version in a slot directory no
     * live slot owns; false for an entry that names no such file.
     */
    private static boolean candidate(StagedEntry e, String uri, DataSplit split) {
        try {
            Path file = e.file() == null ? null : Path.of(e.file());
            return file != null
                    && file.isAbsolute()
                    && file.getParent() != null
                    && e.uri().equals(uri)
                    && e.size() == split.version().size()
                    && java.util.Objects.equals(e.etag(), split.version().etag())
                    && !io.warmstage.device.HostDevice.owned(file.getParent());
        } catch (RuntimeException ex) {
            return false; // a path that does not parse, an entry without a URI
        }
    }

    @Override
    public void close() {
        for (Verified v : files.values()) {
            for (FileChannel ch : v.channels()) {
                try {
                    ch.close();
                } catch (IOException e) {
                    // read-only
                }
            }
        }
        files.clear();
    }

    /** Whether the kept file's bytes {@code [s[0], s[1])} have the CRC-32C {@code s[2]}. */
    private static boolean matches(FileChannel ch, long[] s) {
        if (s[0] < 0 || s[1] <= s[0]) {
            return false;
        }
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(1 << 20, s[1] - s[0]));
        try {
            for (long at = s[0]; at < s[1]; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), s[1] - at));
                int n = ch.read(buf, at);
                if (n <= 0) {
                    return false; // shorter than recorded
                }
                buf.flip();
                crc.update(buf);
                at += n;
            }
        } catch (IOException e) {
            return false;
        }
        return crc.getValue() == s[2];
    }

    private static boolean covered(TreeMap<Long, long[]> ranges, long from, long to) {
        Map.Entry<Long, long[]> r = ranges.floorEntry(from);
        return r != null && r.getValue()[0] >= to;
    }

    /** Joins adjacent ranges of the same kept file. */
    private static void merge(TreeMap<Long, long[]> ranges) {
        Map.Entry<Long, long[]> prev = null;
        for (var it = ranges.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (prev != null
                    && prev.getValue()[0] == e.getKey()
                    && prev.getValue()[1] == e.getValue()[1]) {
                prev.getValue()[0] = e.getValue()[0];
                it.remove();
            } else {
                prev = e;
            }
        }
    }

    private static long bytes(TreeMap<Long, long[]> ranges) {
        long n = 0;
        for (var e : ranges.entrySet()) {
            n = Math.addExact(n, e.getValue()[0] - e.getKey());
        }
        return n;
    }
}
