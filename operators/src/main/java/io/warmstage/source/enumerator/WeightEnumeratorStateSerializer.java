package io.warmstage.source.enumerator;

import io.warmstage.source.enumerator.WeightEnumeratorState.StagedModel;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Versioned serializer of {@link WeightEnumeratorState}. It writes version 4 and reads every
 * version it wrote. Versions 2 to 4 lay out the staged models (name, nullable fingerprint,
 * generation, slots) and then, per subtask, its unassigned splits; they differ in the splits'
 * format ({@link ChunkSplitSerializer} version 4, 3 or 2: the state's version is its splits').
 * Versions 3 and 4 write models and subtasks in key order, so equal states give equal bytes.
 *
 * <p>Version 1 held only the names of the planned models, then the unassigned splits as above in
 * the last layout of split version 1 (with skipped tensors; {@code ChunkSplitV1Format}). Its splits
 * are written one after another, so a state holding the first split version 1 layout cannot be told
 * apart reliably and is not read. A version 1 model is restored with a null fingerprint (a refresh
 * plans it again, as after a failure), no slots (none are released on a refresh) and generation 0.
 */
public final class WeightEnumeratorStateSerializer
        implements SimpleVersionedSerializer<WeightEnumeratorState> {
    /** The version {@link #serialize} writes. */
    public static final int VERSION = 4;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(WeightEnumeratorState state) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            Map<String, StagedModel> staged = new TreeMap<>(state.staged());
            out.writeInt(staged.size());
            for (Map.Entry<String, StagedModel> e : staged.entrySet()) {
                out.writeUTF(e.getKey());
                StagedModel m = e.getValue();
                out.writeBoolean(m.fingerprint() != null);
                if (m.fingerprint() != null) {
                    byte[] fp = m.fingerprint().getBytes(StandardCharsets.UTF_8);
                    out.writeInt(fp.length);
                    out.write(fp);
                }
                out.writeInt(m.generation());
                out.writeInt(m.slots().size());
                for (int slot : m.slots()) {
                    out.writeInt(slot);
                }
            }
            Map<Integer, List<ChunkSplit>> unassigned = new TreeMap<>(state.unassigned());
            out.writeInt(unassigned.size());
            for (Map.Entry<Integer, List<ChunkSplit>> e : unassigned.entrySet()) {
                out.writeInt(e.getKey());
                out.writeInt(e.getValue().size());
                for (ChunkSplit s : e.getValue()) {
                    ChunkSplitSerializer.write(s, out);
                }
            }
        }
        return bytes.toByteArray();
    }

    /**
     * @throws IOException if {@code version} is not one this serializer ever wrote, or the bytes
     *     are not a state of that version
     */
    @Override
    public WeightEnumeratorState deserialize(int version, byte[] serialized) throws IOException {
        int splitVersion =
                switch (version) {
                    case 4 -> 4;
                    case 3 -> 3;
                    case 2 -> 2;
                    case 1 -> 1;
                    default -> throw new IOException("unknown enumerator state version " + version);
                };
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            Map<String, StagedModel> staged = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                String name = in.readUTF();
                if (version == 1) {
                    staged.put(name, new StagedModel(null, List.of(), 0));
                    continue;
                }
                String fp = null;
                if (in.readBoolean()) {
                    byte[] b = new byte[in.readInt()];
                    in.readFully(b);
                    fp = new String(b, StandardCharsets.UTF_8);
                }
                int generation = in.readInt();
                List<Integer> slots = new ArrayList<>();
                for (int j = in.readInt(); j > 0; j--) {
                    slots.add(in.readInt());
                }
                staged.put(name, new StagedModel(fp, slots, generation));
            }
            Map<Integer, List<ChunkSplit>> unassigned = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                int subtask = in.readInt();
                List<ChunkSplit> splits = new ArrayList<>();
                for (int j = in.readInt(); j > 0; j--) {
                    splits.add(ChunkSplitSerializer.read(splitVersion, in));
                }
                unassigned.put(subtask, splits);
            }
            return new WeightEnumeratorState(staged, unassigned);
        }
    }
}
