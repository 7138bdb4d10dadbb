package io.warmstage.source.enumerator;

import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.ChunkSplitSerializer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned serializer of {@link WeightEnumeratorState}. */
public final class WeightEnumeratorStateSerializer
        implements SimpleVersionedSerializer<WeightEnumeratorState> {
    private static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(WeightEnumeratorState state) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(state.staged().size());
            for (Map.Entry<String, WeightEnumeratorState.StagedModel> e :
                    state.staged().entrySet()) {
                out.writeUTF(e.getKey());
                WeightEnumeratorState.StagedModel m = e.getValue();
                out.writeBoolean(m.fingerprint() != null);
                if (m.fingerprint() != null) {
                    byte[] fp = m.fingerprint().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    out.writeInt(fp.length);
                    out.write(fp);
                }
                out.writeInt(m.generation());
                out.writeInt(m.slots().size());
                for (int slot : m.slots()) {
                    out.writeInt(slot);
                }
            }
            out.writeInt(state.unassigned().size());
            for (Map.Entry<Integer, List<ChunkSplit>> e : state.unassigned().entrySet()) {
                out.writeInt(e.getKey());
                out.writeInt(e.getValue().size());
                for (ChunkSplit s : e.getValue()) {
                    ChunkSplitSerializer.write(s, out);
                }
            }
        }
        return bytes.toByteArray();
    }

    @Override
    public WeightEnumeratorState deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException("unknown enumerator state version " + version);
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            Map<String, WeightEnumeratorState.StagedModel> staged = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                String name = in.readUTF();
                String fp = null;
                if (in.readBoolean()) {
                    byte[] b = new byte[in.readInt()];
                    in.readFully(b);
                    fp = new String(b, java.nio.charset.StandardCharsets.UTF_8);
                }
                int generation = in.readInt();
                List<Integer> slots = new ArrayList<>();
                for (int j = in.readInt(); j > 0; j--) {
                    slots.add(in.readInt());
                }
                staged.put(name, new WeightEnumeratorState.StagedModel(fp, slots, generation));
            }
            Map<Integer, List<ChunkSplit>> unassigned = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                int subtask = in.readInt();
                List<ChunkSplit> splits = new ArrayList<>();
                for (int j = in.readInt(); j > 0; j--) {
                    splits.add(ChunkSplitSerializer.read(in));
                }
                unassigned.put(subtask, splits);
            }
            return new WeightEnumeratorState(staged, unassigned);
        }
    }
}
