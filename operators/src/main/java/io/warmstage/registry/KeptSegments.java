package io.warmstage.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What a partly staged file that a slot kept for a restore holds: the byte ranges whose CRC-32C the
 * slot took as they arrived (whole tensors and pieces of tensors), written beside the kept staging
 * file ({@code <kept file>.json}) when the slot is cut short. A reader of the same host reads those
 * ranges from the kept file instead of the origin once their bytes match the recorded CRC-32C.
 *
 * @param uri the file's URI as the source's splits name it
 * @param size the pinned version's size in bytes
 * @param etag the pinned version's ETag or generation, or null
 * @param segments {@code [begin, end, crc32c]} triples: file offsets (0 is the file's first byte)
 *     and the unsigned CRC-32C of {@code [begin, end)}
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonIgnoreProperties(ignoreUnknown = true)
public record KeptSegments(String uri, long size, String etag, List<long[]> segments) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The suffix of a record's name: the kept file's name and this. */
    public static final String SUFFIX = ".json";

    /** The record's path for the kept file {@code kept}. */
    public static Path recordOf(Path kept) {
        return kept.resolveSibling(kept.getFileName() + SUFFIX);
    }

    /** The kept file a record at {@code record} describes. */
    public static Path keptOf(Path record) {
        String name = record.getFileName().toString();
        return record.resolveSibling(name.substring(0, name.length() - SUFFIX.length()));
    }

    /**
     * Writes this record beside {@code kept}: a temp file, then an atomic rename.
     *
     * @throws IOException if it cannot be written (the temp file is removed)
     */
    public void writeBeside(Path kept) throws IOException {
        Path target = recordOf(kept);
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            JSON.writeValue(tmp.toFile(), this);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads a record; empty if it is missing or unreadable (withdrawn or half-removed). */
    public static Optional<KeptSegments> read(Path record) {
        try {
            return Optional.of(JSON.readValue(record.toFile(), KeptSegments.class));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Records of kept files of the pinned version {@code (uri, size, etag)} under a host's staging
     * area {@code root} (in {@code job-<id>/slot-<n>/}), each with its kept file's path. Unreadable
     * directories and records are left out.
     */
    public static List<Found> find(Path root, String uri, long size, String etag) {
        List<Found> out = new ArrayList<>();
        for (Path slotDir : slotDirs(root)) {
            try (Stream<Path> files = Files.list(slotDir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    String name = p.getFileName().toString();
                    if (!name.endsWith(SUFFIX) || name.endsWith(".tmp")) {
                        continue;
                    }
                    read(p).filter(k -> k.uri().equals(uri) && k.size() == size)
                            .filter(k -> java.util.Objects.equals(k.etag(), etag))
                            .ifPresent(k -> out.add(new Found(keptOf(p), k)));
                }
            } catch (IOException | RuntimeException e) {
                // the slot directory went away meanwhile
            }
        }
        return out;
    }

    /**
     * A record and the kept file it describes.
     *
     * @param kept the kept staging file
     * @param segments its record
     */
    public record Found(Path kept, KeptSegments segments) {}

    private static List<Path> slotDirs(Path root) {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> jobs = Files.list(root)) {
            for (Path job : (Iterable<Path>) jobs::iterator) {
                if (!job.getFileName().toString().startsWith("job-") || !Files.isDirectory(job)) {
                    continue;
                }
                try (Stream<Path> slots = Files.list(job)) {
                    slots.filter(Files::isDirectory).forEach(out::add);
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            // no staging area on this host
        }
        return out;
    }
}
