package io.warmstage.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class SlotGpuTest {

    @Test
    void withoutResourcesOrConfigTheSubtaskModuloTheGpuCountIsTheOnlyCandidate() throws Exception {
        Configuration none = new Configuration();
        for (int subtask = 0; subtask < 9; subtask++) {
            SlotGpu s = SlotGpu.forSlot(List.of(), subtask, none);
            assertThat(s.candidates(4).get(0)).isEqualTo(subtask % 4);
            assertThat(s.candidates(4)).containsExactlyInAnyOrder(0, 1, 2, 3);
            assertThat(s.shared()).isFalse();
        }
        assertThat(SlotGpu.forSlot(List.of(), 5, none).source())
                .isEqualTo("subtask index % GPU count");
    }

    @Test
    void configuredOrdinalsMapSubtaskIToOrdinalsIModN() throws Exception {
        Configuration c = new Configuration();
        c.set(GpuOptions.GPU_ORDINALS, "3,1, 2");

        assertThat(SlotGpu.forSlot(List.of(), 0, c).candidates(8)).containsExactly(3, 1, 2);
        assertThat(SlotGpu.forSlot(List.of(), 1, c).candidates(8)).containsExactly(1, 2, 3);
        assertThat(SlotGpu.forSlot(List.of(), 2, c).candidates(8)).containsExactly(2, 3, 1);
        assertThat(SlotGpu.forSlot(List.of(), 4, c).candidates(8)).containsExactly(1, 2, 3);
        assertThat(SlotGpu.forSlot(List.of(), 0, c).source())
                .isEqualTo("warmstage.staging.gpu-ordinals [3, 1, 2]");
    }

    @Test
    void ordinalListsParseInTheFormsUsersAndFlinkWrite() throws Exception {
        assertThat(SlotGpu.parseOrdinals("0,1,2,3")).containsExactly(0, 1, 2, 3);
        assertThat(SlotGpu.parseOrdinals("[0, 1]")).containsExactly(0, 1);
        assertThat(SlotGpu.parseOrdinals("2;0")).containsExactly(2, 0);
        assertThat(SlotGpu.parseOrdinals(" 7 ")).containsExactly(7);
        assertThat(SlotGpu.parseOrdinals("  ")).isEmpty();
        for (String bad : new String[] {"0,x", "-1", "1,,2x", "0.5"}) {
            assertThatThrownBy(() -> SlotGpu.parseOrdinals(bad))
                    .as(bad)
                    .isInstanceOf(DeviceException.class)
                    .hasMessageContaining("warmstage.staging.gpu-ordinals '" + bad + "'");
        }
    }

    @Test
    void externalResourcesWinOverConfigAndAreSortedByIndex() throws Exception {
        Configuration c = new Configuration();
        c.set(GpuOptions.GPU_ORDINALS, "0");
        List<ExternalResourceInfo> gpus = List.of(gpu("6"), gpu("4"), gpu("5"));

        assertThat(SlotGpu.forSlot(gpus, 0, c).candidates(8)).containsExactly(4, 5, 6);
        assertThat(SlotGpu.forSlot(gpus, 1, c).candidates(8)).containsExactly(5, 6, 4);
        assertThat(SlotGpu.forSlot(gpus, 5, c).candidates(8)).containsExactly(6, 4, 5);
        assertThat(SlotGpu.forSlot(gpus, 0, c).source())
                .isEqualTo("the TaskManager's 'gpu' external resources [4, 5, 6]");
    }

    @Test
    void aGpuWithoutANumericIndexIsAClearError() {
        assertThatThrownBy(
                        () ->
                                SlotGpu.forSlot(
                                        List.of(new Info(Map.of("uuid", "GPU-1"))),
                                        0,
                                        new Configuration()))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("no 'index' property (keys [uuid])");
        assertThatThrownBy(() -> SlotGpu.forSlot(List.of(gpu("GPU-1")), 0, new Configuration()))
                .isInstanceOf(DeviceException.class)
                .hasMessageContaining("bad GPU ordinal 'GPU-1' in GPU external resource index");
    }

    @Test
    void sharedComesFromTheConfiguration() throws Exception {
        Configuration c = new Configuration();
        c.set(GpuOptions.GPU_SHARED, true);
        assertThat(SlotGpu.forSlot(List.of(), 0, c).shared()).isTrue();
        assertThatThrownBy(() -> SlotGpu.of(-1, List.of(), List.of(), false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static ExternalResourceInfo gpu(String index) {
        return new Info(Map.of("index", index));
    }

    /** What Flink's GPU plugin hands a task: properties of one GPU. */
    record Info(Map<String, String> properties) implements ExternalResourceInfo {
        @Override
        public Optional<String> getProperty(String key) {
            return Optional.ofNullable(properties.get(key));
        }

        @Override
        public Collection<String> getKeys() {
            return Set.copyOf(properties.keySet());
        }
    }
}
