package io.warmstage.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
    /** 3 hosts: a has slots 0, 1; b has 2, 3; c has 4. */
    static final Map<Integer, String> FLEET =
            Map.of(0, "gpu-a", 1, "gpu-a", 2, "gpu-b", 3, "gpu-b", 4, "cpu-c");

    @Test
    void everySlotByDefault() {
        assertThat(Placement.ALL.slots(FLEET, 0)).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void replicasGoRoundRobinOverHostsStartingAtTheRotation() {
        assertThat(Placement.replicas(3).slots(FLEET, 0)).containsExactly(0, 2, 4);
        assertThat(Placement.replicas(3).slots(FLEET, 1)).containsExactly(0, 2, 4);
        assertThat(Placement.replicas(2).slots(FLEET, 0)).containsExactly(0, 4); // cpu-c, gpu-a
        assertThat(Placement.replicas(2).slots(FLEET, 1)).containsExactly(0, 2);
        assertThat(Placement.replicas(4).slots(FLEET, 0)).containsExactly(0, 1, 2, 4);
        assertThat(Placement.replicas(99).slots(FLEET, 0)).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void hostsMatchWholeNames() {
        assertThat(Placement.hosts("gpu-.*").slots(FLEET, 0)).containsExactly(0, 1, 2, 3);
        assertThat(Placement.hosts("gpu").slots(FLEET, 0)).isEmpty();
        assertThat(Placement.hosts("cpu-c|gpu-b").slots(FLEET, 0)).containsExactly(2, 3, 4);
    }

    @Test
    void badPlacementsAreRefusedWithTheRule() {
        assertThatThrownBy(() -> Placement.replicas(0)).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> Placement.hosts("gpu-("))
                .hasMessageContaining("not a regular expression");
        assertThatThrownBy(() -> new Placement(2, "x")).hasMessageContaining("not both");
    }

    @Test
    void fetchModesParseTheirLabelsOnly() {
        assertThat(FetchMode.parse("Fan-Out")).isEqualTo(FetchMode.FAN_OUT);
        assertThat(FetchMode.parse(" per-host ")).isEqualTo(FetchMode.PER_HOST);
        assertThat(FetchMode.PER_TARGET.needsExchange()).isFalse();
        assertThat(FetchMode.FAN_OUT.needsExchange()).isTrue();
        assertThatThrownBy(() -> FetchMode.parse("per-rack"))
                .hasMessageContaining("per-target, per-host, fan-out")
                .hasMessageContaining("per-rack");
    }
}
