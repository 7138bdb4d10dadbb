package io.warmstage.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FleetOptions;
import io.warmstage.plan.ModelSpec;
import io.warmstage.testing.SharedData;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamEdge;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * The operators each fetch mode puts between the source and staging: the relay only in fan-out with
 * {@link FleetOptions#HOST_RELAY} on, keyed on both sides, at the staging parallelism.
 */
class StagingPipelineGraphTest {
    private static final int SLOTS = 4;

    @Test
    void fanOutWithTheHostRelayRoutesChunksThroughTheRelay() {
        StreamGraph g = graph(FetchMode.FAN_OUT, true);
        StreamNode relay = node(g, StagingPipeline.RELAY);
        assertThat(relay.getParallelism()).isEqualTo(SLOTS);
        assertThat(relay.getTransformationUID()).isEqualTo("relay");
        assertThat(relay.getInEdges()).singleElement().satisfies(e -> assertKeyed(g, e, "weights"));
        assertThat(upstreamOf(g, "stage")).isEqualTo(Map.of("relay", "HASH"));
        assertThat(relay.getSlotSharingGroup()).isEqualTo(node(g, "stage").getSlotSharingGroup());
    }

    @Test
    void everyOtherModeHasNoRelay() {
        assertThat(names(graph(FetchMode.FAN_OUT, false))).doesNotContain(StagingPipeline.RELAY);
        assertThat(upstreamOf(graph(FetchMode.FAN_OUT, false), "stage"))
                .isEqualTo(Map.of("weights", "HASH"));
        assertThat(upstreamOf(graph(FetchMode.PER_HOST, true), "stage"))
                .isEqualTo(Map.of("weights", "HASH"));
        assertThat(upstreamOf(graph(FetchMode.PER_TARGET, true), "stage"))
                .isEqualTo(Map.of("weights", "FORWARD"));
    }

    private static StreamGraph graph(FetchMode mode, boolean relay) {
        Configuration conf = new Configuration();
        conf.set(FleetOptions.FETCH_MODE, mode.label());
        conf.set(FleetOptions.HOST_RELAY, relay);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        String file = SharedData.validFiles().get(0).toUri().toString();
        StagingPipeline.build(env, List.of(new ModelSpec("m", file)), conf, SLOTS)
                .sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>());
        return env.getStreamGraph();
    }

    private static StreamNode node(StreamGraph g, String name) {
        return g.getStreamNodes().stream()
                .filter(n -> n.getOperatorName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no operator " + name + " in " + names(g)));
    }

    private static List<String> names(StreamGraph g) {
        return g.getStreamNodes().stream().map(StreamNode::getOperatorName).toList();
    }

    /** Upstream operator name (its uid's name) to the partitioner of the edge, for {@code name}. */
    private static Map<String, String> upstreamOf(StreamGraph g, String name) {
        Map<String, String> out = new TreeMap<>();
        for (StreamEdge e : node(g, name).getInEdges()) {
            StreamNode from = g.getStreamNode(e.getSourceId());
            out.put(from.getTransformationUID(), e.getPartitioner().toString());
        }
        return out;
    }

    private static void assertKeyed(StreamGraph g, StreamEdge e, String fromUid) {
        assertThat(g.getStreamNode(e.getSourceId()).getTransformationUID()).isEqualTo(fromUid);
        assertThat(e.getPartitioner().toString()).isEqualTo("HASH");
    }
}
