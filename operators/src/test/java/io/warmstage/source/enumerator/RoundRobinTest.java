package io.warmstage.source.enumerator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The order a reader's splits are queued in: one split of each file of a model in turn. */
class RoundRobinTest {
    @Test
    void takesOneFromEachListInTurnUntilAllAreEmpty() {
        List<List<String>> files =
                List.of(List.of("a0", "a1", "a2"), List.of(), List.of("b0"), List.of("c0", "c1"));

        assertThat(SplitAssigner.roundRobin(files))
                .containsExactly("a0", "b0", "c0", "a1", "c1", "a2");
    }

    @Test
    void noListsGiveNothing() {
        assertThat(SplitAssigner.roundRobin(List.<List<String>>of())).isEmpty();
    }
}
