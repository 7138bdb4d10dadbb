package io.warmstage.staging;

import io.warmstage.device.DeviceBuffer;
import io.warmstage.device.DeviceException;
import io.warmstage.format.HeaderParser;
import io.warmstage.format.SafetensorsException;
import io.warmstage.format.SafetensorsHeader;
import io.warmstage.format.TensorInfo;
import io.warmstage.memory.Crc32c;
import io.warmstage.source.ChunkRecord;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.storage.Redaction;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * One file being reassembled on one slot: the header bytes on the heap, the data section in device
 * memory, and which bytes have arrived. Chunks may come in any order; a tensor is reported once all
 * of its bytes are on the device.
 *
 * <p>Each tensor's CRC-32C is computed from the chunk bytes as they are copied to the device (the
 * pass that touches them anyway): every chunk is cut at tensor boundaries, each piece checksummed,
 * and a complete tensor's value combined from its pieces in order ({@link Crc32c#combine}). Bytes
 * that arrived before the header (when tensor boundaries were not known yet) are read back from the
 * device once, for those ranges only.
 */
final class StagingFile {
    /** A tensor whose bytes are all on the device, with their CRC-32C. */
    record Done(TensorInfo tensor, int crc32c) {}

    final String uri;
    final URI uriObject;
    final ObjectVersion version;
    final String model;
    final long fileSize;
    final long headerEnd;
    final boolean cacheOwner;
    final DeviceBuffer data;
    private final byte[] headerBytes;
    private final Coverage coverage = new Coverage();
    private SafetensorsHeader header;
    private boolean[] reported;
    private int[] crcs;
    private final Set<String> skip = new HashSet<>();

    /** Checksummed pieces of the data section: data-relative begin -> {end, CRC-32C}. */
    private final TreeMap<Long, long[]> pieces = new TreeMap<>();

    private boolean allFromCache = true;
    private boolean cacheWritten;

    /** Tensors complete here whose copies may still be in flight, with the ticket to land. */
    private final java.util.ArrayDeque<Awaiting> awaiting = new java.util.ArrayDeque<>();

    private record Awaiting(long ticket, List<Done> tensors) {}

    private Map<String, Integer> indexByName;

    /** Tensor events held back until the file is verified (a file pinned by SHA-256). */
    final List<StagingEvent> held = new ArrayList<>();

    /** Set when this slot must not write the file into its host's cache (its write was dropped). */
    boolean noCacheWrite;

    /** Whether the slot's host cache held the file when it began here; null until asked. */
    Boolean hostHas;

    /**
     * Whether this slot won the host's claim to write the file into the cache ({@link
     * CacheClaims}), asked once, at the first chunk the slot writes; null until asked.
     */
    Boolean cacheClaimed;

    private java.util.BitSet restoredReported;
    private int[] restoredCrcs;

    /** From a cached copy's entry: the header's CRC-32C, or null when nothing is expected. */
    private Integer expectedHeader;

    /** From a cached copy's entry: each tensor's CRC-32C in offset order, or null. */
    private int[] expected;

    StagingFile(ChunkRecord first, DeviceBuffer data) {
        this.uri = first.file;
        this.uriObject = URI.create(first.file);
        this.version = new ObjectVersion(first.fileSize, first.etag);
        this.model = first.model;
        this.fileSize = first.fileSize;
        this.headerEnd = first.headerEnd;
        this.cacheOwner = first.cacheOwner;
        this.data = data;
        this.headerBytes = new byte[Math.toIntExact(first.headerEnd)];
    }

    /**
     * A fresh file for {@code r} on {@code fresh} memory, in place of this one (whose cached copy
     * did not match): the tensors whose events were sent here are not reported again (their CRC-32C
     * is checked when it completes), events held for the pin check carry over, and a dropped cache
     * write of this file is not started again.
     */
    StagingFile restart(ChunkRecord r, DeviceBuffer fresh) {
        java.util.BitSet sent = reportedSet();
        sent.andNot(awaitingSet()); // not sent yet: reported once the new copy lands
        StagingFile g = new StagingFile(r, fresh);
        g.restoreReported(sent);
        g.restoreCrcs(reportedCrcs());
        g.held.addAll(held);
        g.noCacheWrite = cacheWritten;
        g.cacheClaimed = cacheClaimed;
        return g;
    }

    /**
     * Copies the record's bytes to their place (header bytes to the heap, data bytes to the device)
     * and returns the tensors it completed, in offset order, with their CRC-32C.
     *
     * @throws SafetensorsException if the header, once complete, is invalid
     */
    List<Done> accept(ChunkRecord r)
            throws DeviceException, SafetensorsException, CachedCopyMismatch {
        if (r.expectedHeaderCrc != null && expectedHeader == null) {
            expect(r.expectedHeaderCrc, r.expectedCrcs);
        }
        long end = Math.addExact(r.offset, r.length());
        if (r.offset < 0 || end > fileSize) {
            throw new IllegalArgumentException(
                    uri + ": chunk [" + r.offset + ", " + end + ") outside the file");
        }
        copy(r, end);
        coverage.add(r.offset, end);
        if (r.skipTensors != null) {
            skip.addAll(Arrays.asList(r.skipTensors));
        }
        allFromCache &= r.cacheHit;
        boolean headerNew = header == null && coverage.covers(0, headerEnd);
        if (headerNew) {
            // The copy's checksum first: a corrupt copy's header may no longer parse, and that is
            // a copy to fetch again, not an invalid file.
            checkHeaderCrc();
            parseHeader();
            checkTensorCount();
        }
        if (header == null) {
            return List.of();
        }
        return headerNew ? completed(0, fileSize) : completed(r.offset, end);
    }

    /**
     * Keeps tensors that {@link #accept} completed until the copies issued so far have landed on
     * the device ({@link DeviceBuffer#landed}).
     */
    void awaitLanding(List<Done> done) {
        if (!done.isEmpty()) {
            awaiting.add(new Awaiting(data.copiesIssued(), done));
        }
    }

    /**
     * Tensors given to {@link #awaitLanding} whose bytes have landed now, in the order given,
     * forgotten here; {@code wait}: waits for every copy first, so that all are returned.
     *
     * @throws DeviceException if a copy to the device failed
     */
    List<Done> landed(boolean wait) throws DeviceException {
        if (awaiting.isEmpty()) {
            return List.of();
        }
        if (wait) {
            data.synchronize();
        }
        List<Done> out = new ArrayList<>();
        while (!awaiting.isEmpty() && (wait || data.landed(awaiting.peek().ticket()))) {
            out.addAll(awaiting.poll().tensors());
        }
        return out;
    }

    /** Whether tensors wait for their copies to land. */
    boolean awaitingLanding() {
        return !awaiting.isEmpty();
    }

    /**
     * Tensors reported here and not yet landed ({@link #awaitLanding}), as indexes in offset order:
     * a checkpoint must not count them reported, since their events have not been sent.
     */
    java.util.BitSet awaitingSet() {
        java.util.BitSet out = new java.util.BitSet();
        if (header != null) {
            Map<String, Integer> index = indexByName();
            for (Awaiting a : awaiting) {
                for (Done d : a.tensors()) {
                    out.set(index.get(d.tensor().name()));
                }
            }
        }
        return out;
    }

    /**
     * Tensors whose events are held back ({@link #held}) until the file matches its pin, as indexes
     * in offset order: a checkpoint must not count them reported either.
     */
    java.util.BitSet heldSet() {
        java.util.BitSet out = new java.util.BitSet();
        if (header != null) {
            Map<String, Integer> index = indexByName();
            for (StagingEvent e : held) {
                Integer i = e.tensor == null ? null : index.get(e.tensor);
                if (i != null) {
                    out.set(i);
                }
            }
        }
        return out;
    }

    /** Each tensor's index in offset order, by name (names are unique in a header). */
    private Map<String, Integer> indexByName() {
        if (indexByName == null) {
            List<TensorInfo> tensors = header.tensors();
            indexByName = new java.util.HashMap<>(tensors.size() * 2);
            for (int i = 0; i < tensors.size(); i++) {
                indexByName.put(tensors.get(i).name(), i);
            }
        }
        return indexByName;
    }

    boolean complete() {
        return header != null && coverage.covers(0, fileSize);
    }

    /**
     * Hands the header to the device buffer once the file is complete (see DeviceBuffer#publish).
     */
    void publish() throws DeviceException {
        data.publish(ByteBuffer.wrap(headerBytes));
    }

    /** The file's first bytes: length prefix and header JSON. */
    byte[] headerBytes() {
        return headerBytes;
    }

    SafetensorsHeader header() {
        return header;
    }

    /**
     * Every tensor of the complete file with its CRC-32C, in offset order: the value computed when
     * its bytes were copied, or, for a tensor reported before a restore, read back from the device
     * now.
     */
    List<Done> allTensors() throws DeviceException {
        List<TensorInfo> tensors = header.tensors();
        List<Done> out = new ArrayList<>(tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            boolean computed = restoredReported == null || !restoredReported.get(i);
            int crc = computed ? crcs[i] : data.crc32c(t.begin(), t.byteSize());
            if (!computed && restoredCrcs != null && i < restoredCrcs.length) {
                checkRestored(t, crc, restoredCrcs[i]);
            }
            out.add(new Done(t, crc));
        }
        return out;
    }

    /**
     * Marks data bytes {@code [from, to)} (absolute offsets, at or past the header) as staged
     * without copying: an adopted staging file already holds them. Their CRC-32C is read back from
     * the device when their tensors complete.
     */
    void adopt(long from, long to) {
        if (from < headerEnd || to > fileSize || from > to) {
            throw new IllegalArgumentException(
                    uri + ": cannot adopt [" + from + ", " + to + ") of a data section");
        }
        coverage.add(from, to);
        allFromCache = false;
    }

    /**
     * CRC-32C of tensors reported so far, by index in offset order (0 for others), for a
     * checkpoint; null before the header is known.
     */
    int[] reportedCrcs() {
        if (crcs == null) {
            return restoredCrcs;
        }
        int[] out = crcs.clone();
        if (restoredCrcs != null && restoredReported != null) {
            restoredReported.stream()
                    .filter(i -> i < out.length && i < restoredCrcs.length)
                    .forEach(i -> out[i] = restoredCrcs[i]);
        }
        return out;
    }

    /** Before any byte arrives after a restore: CRC-32C of the tensors reported before it. */
    void restoreCrcs(int[] values) {
        restoredCrcs = values;
    }

    private void checkRestored(TensorInfo t, int now, int before) throws DeviceException {
        if (now != before) {
            throw new DeviceException(
                    uri
                            + ": tensor "
                            + t.name()
                            + " holds CRC-32C "
                            + StagingEvent.hex(now)
                            + " after the restore, reported "
                            + StagingEvent.hex(before)
                            + " before it: not published");
        }
    }

    /** Tensors this file reports: its header's, less those the index assigns elsewhere. */
    int reportedTensors() {
        return (int) header.tensors().stream().filter(t -> !skip.contains(t.name())).count();
    }

    /** {@code hit} if every byte came from this host's cache, else {@code miss}. */
    boolean allFromCache() {
        return allFromCache;
    }

    void markCacheWritten() {
        cacheWritten = true;
    }

    boolean cacheWritten() {
        return cacheWritten;
    }

    private void copy(ChunkRecord r, long end) throws DeviceException {
        ByteBuffer bytes = r.bytes();
        int inHeader = (int) Math.max(0, Math.min(end, headerEnd) - r.offset);
        if (inHeader > 0) {
            bytes.get(0, headerBytes, (int) r.offset, inHeader);
        }
        if (end > headerEnd) {
            int skip = (int) Math.max(0, headerEnd - r.offset);
            long at = Math.max(r.offset, headerEnd) - headerEnd;
            ByteBuffer section = bytes.position(skip).slice();
            if (header != null) {
                checksumPieces(at, section);
            }
            data.copyFromHost(at, section, r.buffer);
        }
    }

    /** Checksums {@code bytes} (data-relative at {@code at}) in pieces cut at tensor boundaries. */
    private void checksumPieces(long at, ByteBuffer bytes) {
        List<TensorInfo> tensors = header.tensors();
        long end = at + bytes.remaining();
        CRC32C crc = new CRC32C();
        for (int i = firstEndingAfter(tensors, at + 1); i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            long from = Math.max(at, t.begin());
            long to = Math.min(end, t.end());
            if (from >= end) {
                break;
            }
            if (from < to) {
                crc.reset();
                crc.update(bytes.duplicate().position((int) (from - at)).limit((int) (to - at)));
                pieces.put(from, new long[] {to, (int) crc.getValue()});
            }
        }
    }

    /**
     * The CRC-32C of a tensor whose bytes are all on the device: its pieces combined in order, any
     * range without a piece read back from the device. Forgets the tensor's pieces.
     */
    private int tensorCrc(TensorInfo t) throws DeviceException {
        int crc = 0;
        long pos = t.begin();
        while (pos < t.end()) {
            long[] piece = pieces.remove(pos);
            long next;
            int pieceCrc;
            if (piece != null && piece[0] <= t.end()) {
                next = piece[0];
                pieceCrc = (int) piece[1];
            } else {
                Long after = pieces.higherKey(pos);
                next = after == null ? t.end() : Math.min(after, t.end());
                pieceCrc = data.crc32c(pos, next - pos);
            }
            crc = Crc32c.combine(crc, pieceCrc, next - pos);
            pos = next;
        }
        pieces.subMap(t.begin(), t.end()).clear();
        return crc;
    }

    private void parseHeader() throws SafetensorsException {
        long n = HeaderParser.readHeaderLength(headerBytes, fileSize, uri);
        if (8 + n != headerEnd) {
            throw new SafetensorsException(
                    SafetensorsException.Reason.INVALID_HEADER_LENGTH,
                    uri,
                    null,
                    "header length changed: planned 8 + " + (headerEnd - 8) + ", got 8 + " + n);
        }
        header =
                HeaderParser.parse(
                        Arrays.copyOfRange(headerBytes, 8, headerBytes.length), fileSize, uri);
        reported = new boolean[header.tensors().size()];
        crcs = new int[reported.length];
        if (restoredReported != null) {
            restoredReported.stream()
                    .filter(i -> i < reported.length)
                    .forEach(i -> reported[i] = true);
        }
    }

    /**
     * Before any byte arrives after a restore: tensors (indexes in offset order) reported before
     * the checkpoint, which must not be reported again.
     */
    void restoreReported(java.util.BitSet tensors) {
        restoredReported = tensors;
    }

    /** Tensors reported so far, as indexes in offset order. */
    java.util.BitSet reportedSet() {
        java.util.BitSet out = new java.util.BitSet();
        if (reported != null) {
            for (int i = 0; i < reported.length; i++) {
                if (reported[i]) {
                    out.set(i);
                }
            }
        } else if (restoredReported != null) {
            out.or(restoredReported);
        }
        return out;
    }

    /**
     * The data bytes this file's buffer holds, each range with its CRC-32C, as {@code [begin, end,
     * unsigned crc32c]} in file offsets: a tensor completed here with its reported CRC-32C, a piece
     * of a tensor in progress with the CRC-32C taken as it arrived, and any other received range
     * (bytes that came before the header was parsed, or adopted) with the CRC-32C of its bytes as
     * staged, read back from the buffer; and, once the header is parsed, {@code [0, headerEnd)}
     * with the CRC-32C of {@link #headerBytes} (the buffer holds no header before it is published).
     * For a file cut short, to be read again after a restore. A file staged from a cached copy that
     * is checked while staged lists only its checked header and tensors: the copy's other bytes are
     * not known to be the origin's.
     *
     * @throws DeviceException if the buffer cannot be read back
     */
    List<long[]> heldSegments() throws DeviceException {
        TreeMap<Long, long[]> known = new TreeMap<>();
        if (header != null && reported != null) {
            List<TensorInfo> tensors = header.tensors();
            for (int i = 0; i < tensors.size(); i++) {
                TensorInfo t = tensors.get(i);
                boolean computedHere = restoredReported == null || !restoredReported.get(i);
                if (reported[i]
                        && computedHere
                        && t.byteSize() > 0
                        && coverage.covers(headerEnd + t.begin(), headerEnd + t.end())) {
                    known.put(headerEnd + t.begin(), segment(t.begin(), t.end(), crcs[i]));
                }
            }
            if (expected == null) { // of a cached copy, only checked tensors count
                pieces.forEach((b, p) -> known.put(headerEnd + b, segment(b, p[0], (int) p[1])));
            }
        }
        List<long[]> out = new ArrayList<>();
        if (header != null) { // every header byte arrived: the caller writes them at offset 0
            CRC32C crc = new CRC32C();
            crc.update(headerBytes);
            out.add(new long[] {0, headerEnd, crc.getValue()});
        }
        out.addAll(known.values());
        if (expected != null) {
            return out;
        }
        long[] received = coverage.toPairs();
        for (int i = 0; i + 1 < received.length; i += 2) {
            long from = Math.max(received[i], headerEnd);
            long to = received[i + 1];
            for (long pos = from; pos < to; ) {
                var k = known.floorEntry(pos);
                if (k != null && k.getValue()[1] > pos) {
                    pos = k.getValue()[1];
                    continue;
                }
                Long nextKnown = known.higherKey(pos);
                long end = nextKnown == null ? to : Math.min(to, nextKnown);
                long d = pos - headerEnd;
                out.add(segment(d, end - headerEnd, data.crc32c(d, end - pos)));
                pos = end;
            }
        }
        return out;
    }

    private long[] segment(long dataBegin, long dataEnd, int crc) {
        return new long[] {
            Math.addExact(headerEnd, dataBegin),
            Math.addExact(headerEnd, dataEnd),
            Integer.toUnsignedLong(crc)
        };
    }

    /** The byte ranges received, as {@code start, end} pairs. */
    long[] ranges() {
        return coverage.toPairs();
    }

    /** Tensors of this file the index assigns to another shard. */
    Set<String> skipped() {
        return skip;
    }

    /**
     * Checks this file against a cached copy's recorded checksums from now on: the header (at once,
     * if it is complete) and each tensor as it completes. Every tensor completed so far had no byte
     * from the copy: a split read from a copy brings the checksums on its first record.
     */
    private void expect(int header, int[] tensors) throws CachedCopyMismatch {
        expectedHeader = header;
        expected = tensors == null ? new int[0] : tensors;
        if (this.header != null) {
            checkTensorCount();
        }
    }

    private void checkHeaderCrc() throws CachedCopyMismatch {
        if (expectedHeader == null) {
            return;
        }
        int crc = Crc32c.of(ByteBuffer.wrap(headerBytes));
        if (crc != expectedHeader) {
            throw new CachedCopyMismatch(
                    Redaction.uri(uriObject),
                    "header: CRC-32C "
                            + StagingEvent.hex(crc)
                            + ", the cache entry's "
                            + StagingEvent.hex(expectedHeader));
        }
    }

    /** Whether the cache entry lists as many tensors as the parsed header has. */
    private void checkTensorCount() throws CachedCopyMismatch {
        if (expectedHeader == null) {
            return;
        }
        if (expected.length != header.tensors().size()) {
            throw new CachedCopyMismatch(
                    Redaction.uri(uriObject),
                    "the cache entry lists "
                            + expected.length
                            + " tensors, the header "
                            + header.tensors().size());
        }
    }

    /** Tensors not yet reported that overlap {@code [from, to)} and are fully covered now. */
    private List<Done> completed(long from, long to) throws DeviceException, CachedCopyMismatch {
        List<TensorInfo> tensors = header.tensors();
        List<Done> out = new ArrayList<>();
        for (int i = firstEndingAfter(tensors, from - headerEnd); i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            if (t.begin() + headerEnd > to) {
                break;
            }
            if (!reported[i] && coverage.covers(headerEnd + t.begin(), headerEnd + t.end())) {
                reported[i] = true;
                int crc = tensorCrc(t);
                crcs[i] = crc;
                if (expected != null && crc != expected[i]) {
                    reported[i] = false; // neither it nor the others of this call were reported
                    for (Done d : out) {
                        reported[tensors.indexOf(d.tensor())] = false;
                    }
                    throw new CachedCopyMismatch(
                            Redaction.uri(uriObject),
                            "tensor "
                                    + t.name()
                                    + ": CRC-32C "
                                    + StagingEvent.hex(crc)
                                    + ", the cache entry's "
                                    + StagingEvent.hex(expected[i]));
                }
                if (!skip.contains(t.name())) {
                    out.add(new Done(t, crc));
                }
            }
        }
        return out;
    }

    /** Index of the first tensor (sorted by begin) whose end is at or after {@code rel}. */
    private static int firstEndingAfter(List<TensorInfo> tensors, long rel) {
        int lo = 0;
        int hi = tensors.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (tensors.get(mid).end() < rel) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
