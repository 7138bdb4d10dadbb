package io.warmstage.source.golden;

import io.warmstage.source.ChunkRecordSerializer;
import io.warmstage.source.enumerator.WeightEnumeratorStateSerializer;
import io.warmstage.source.split.ChunkSplitSerializer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the golden files of the serializers' current versions into {@code
 * src/test/resources/golden}. Run it once when a serializer's version is bumped, and commit the new
 * files; never overwrite the files of an earlier version (the chunk record's format 2 file was
 * written by the serializer of that format, commit 8e8342d):
 *
 * <pre>
 * mvn -o -pl operators -Dtest=GoldenFilesWriter -Dwarmstage.golden.write=true verify
 * </pre>
 */
@EnabledIfSystemProperty(named = "warmstage.golden.write", matches = "true")
class GoldenFilesWriter {
    static final Path DIR = Path.of("src/test/resources/golden");

    @Test
    void writeCurrentVersions() throws IOException {
        ChunkSplitSerializer splits = ChunkSplitSerializer.INSTANCE;
        int v = splits.getVersion();
        write("data-split-v" + v + ".bin", splits.serialize(GoldenValues.dataSplit()));
        write("plain-split-v" + v + ".bin", splits.serialize(GoldenValues.plainSplit()));
        write("failure-split-v" + v + ".bin", splits.serialize(GoldenValues.failureSplit()));
        write("release-split-v" + v + ".bin", splits.serialize(GoldenValues.releaseSplit()));
        write("relay-split-v" + v + ".bin", splits.serialize(GoldenValues.relaySplit()));
        WeightEnumeratorStateSerializer state = new WeightEnumeratorStateSerializer();
        write(
                "enumerator-state-v" + state.getVersion() + ".bin",
                state.serialize(GoldenValues.state()));
        DataOutputSerializer record = new DataOutputSerializer(64);
        ChunkRecordSerializer.INSTANCE.serialize(
                GoldenValues.chunkRecord(new int[] {5, 6, 9}), record);
        write("chunk-record-format3.bin", record.getCopyOfBuffer());
    }

    private static void write(String name, byte[] bytes) throws IOException {
        Path file = DIR.resolve(name);
        if (Files.exists(file)) {
            throw new IllegalStateException(file + " exists: golden files are never rewritten");
        }
        Files.createDirectories(DIR);
        Files.write(file, bytes);
    }
}
