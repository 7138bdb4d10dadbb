package io.warmstage.source.enumerator;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.format.HeaderParser;
import io.warmstage.plan.FetchMode;
import io.warmstage.plan.FilePlan;
import io.warmstage.source.split.ChunkSplit;
import io.warmstage.source.split.DataSplit;
import io.warmstage.source.split.Destination;
import io.warmstage.source.split.FailureSplit;
import io.warmstage.storage.ObjectVersion;
import io.warmstage.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Which reader gets which split, without Flink. */
class SplitAssignerTest {
    private static final Path CNN =
            SharedData.real().resolve("Elyasb14_models__models__cnn.safetensors");
    private static final int[] KEYS = {11, 22, 33, 44};
    private static final Map<Integer, String> HOSTS = Map.of(0, "a", 1, "a", 2, "b", 3, "b");

    @Test
    void perTargetGivesEachSlotItsOwnCopyAndTheFilesInTurn() throws Exception {
        SplitAssigner a = assigner(FetchMode.PER_TARGET);
        a.addModel(List.of(cnn("x"), cnn("y")), List.of(0, 2), HOSTS, 0);
        List<ChunkSplit> zero = drain(a, 0);
        assertThat(zero)
                .hasSize(8)
                .allMatch(s -> s.destinations().equals(List.of(dest(11, false))));
        assertThat(zero.stream().map(s -> ((DataSplit) s).uri()).toList().subList(0, 4))
                .containsExactly("file:///x", "file:///y", "file:///x", "file:///y");
        long modelBytes = 2 * Files.size(CNN);
        assertThat(zero).allMatch(s -> ((DataSplit) s).modelBytes() == modelBytes);
        assertThat(drain(a, 2)).hasSize(8).allMatch(s -> s.target() == 33);
        assertThat(a.getNext(1)).isEmpty();
        assertThat(a.getNext(3)).isEmpty();
    }

    @Test
    void perHostFetchesOncePerHostByTheHostsReadersInTurn() throws Exception {
        SplitAssigner a = assigner(FetchMode.PER_HOST);
        a.addModel(List.of(cnn("x")), List.of(0, 1, 2, 3), HOSTS, 0);
        Map<Integer, List<ChunkSplit>> got = drainAll(a);
        assertThat(got.get(0)).hasSize(2); // 4 splits, readers 0 and 1 of host a take turns
        assertThat(got.get(1)).hasSize(2);
        assertThat(got.get(0).get(0).destinations())
                .containsExactly(
                        new Destination(11, false, true), new Destination(22, false, true));
        assertThat(got.get(2).get(0).destinations())
                .extracting(Destination::target)
                .containsExactly(33, 44);
        assertThat(got.get(2).size() + got.get(3).size()).isEqualTo(4);
    }

    @Test
    void fanOutFetchesOnceForTheFleetAndMarksRemoteDestinations() throws Exception {
        SplitAssigner a = assigner(FetchMode.FAN_OUT);
        a.addModel(List.of(cnn("x")), List.of(0, 2), HOSTS, 0);
        Map<Integer, List<ChunkSplit>> got = drainAll(a);
        assertThat(got.values().stream().mapToInt(List::size).sum()).isEqualTo(4);
        assertThat(got.keySet()).containsExactly(0, 1, 2, 3); // every reader takes a turn
        assertThat(got.get(2).get(0).destinations())
                .containsExactly(
                        new Destination(11, false, false), new Destination(33, false, true));
    }

    /** 4 hosts x 2, 8 x 1 and 2 x 4: one destination per host, its lead listing its targets. */
    @Test
    void hostRelayGivesOneDestinationPerHostWithTheHostsTargets() throws Exception {
        for (int[] shape : new int[][] {{4, 2}, {8, 1}, {2, 4}}) {
            int hosts = shape[0];
            int perHost = shape[1];
            int[] keys = new int[hosts * perHost];
            Map<Integer, String> onHost = new TreeMap<>();
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < keys.length; i++) {
                keys[i] = 100 + i;
                onHost.put(i, "h" + i / perHost);
                all.add(i);
            }
            SplitAssigner a =
                    new SplitAssigner(
                            keys, FetchMode.FAN_OUT, true, true, new SplitPlanner(60_000));
            a.addModel(List.of(cnn("x")), all, onHost, 0);
            List<ChunkSplit> got = new ArrayList<>();
            for (int r = 0; r < keys.length; r++) {
                for (ChunkSplit s : drain(a, r)) {
                    got.add(s);
                    String fetcherHost = onHost.get(r);
                    List<Destination> to = s.destinations();
                    assertThat(to).as("%dx%d", hosts, perHost).hasSize(hosts);
                    for (int h = 0; h < hosts; h++) {
                        int lead = h * perHost;
                        List<Integer> targets = new ArrayList<>();
                        for (int j = 0; j < perHost; j++) {
                            targets.add(100 + lead + j);
                        }
                        assertThat(to.get(h))
                                .isEqualTo(
                                        new Destination(
                                                100 + lead,
                                                true,
                                                fetcherHost.equals("h" + h),
                                                targets));
                    }
                }
            }
            // each split fetched once, all readers taking turns
            assertThat(got).hasSize(splitsOf(CNN, 60_000));
            // one relay list per host, shared by every split (the enumerator holds them all)
            for (int h = 0; h < hosts; h++) {
                final int host = h;
                assertThat(got.stream().map(s -> s.destinations().get(host).relay()).distinct())
                        .hasSize(1);
                assertThat(
                                got.stream()
                                        .map(
                                                s ->
                                                        System.identityHashCode(
                                                                s.destinations().get(host).relay()))
                                        .distinct())
                        .as("the same list object in every split")
                        .hasSize(1);
            }
        }
    }

    /** Placed on some slots only: a host's lead is its lowest placed slot; empty hosts get none. */
    @Test
    void hostRelayListsOnlyThePlacedSlotsOfEachHost() throws Exception {
        SplitAssigner a =
                new SplitAssigner(
                        new int[] {10, 11, 12, 13, 14, 15},
                        FetchMode.FAN_OUT,
                        false,
                        true,
                        new SplitPlanner(120_000));
        Map<Integer, String> hosts = Map.of(0, "a", 1, "a", 2, "a", 3, "b", 4, "b", 5, "c");
        a.addModel(List.of(cnn("x")), List.of(1, 2, 4), hosts, 0);
        Map<Integer, List<ChunkSplit>> got = new TreeMap<>();
        for (int r = 0; r < 6; r++) {
            got.put(r, drain(a, r));
        }
        assertThat(got.values().stream().mapToInt(List::size).sum()).isEqualTo(4);
        for (Map.Entry<Integer, List<ChunkSplit>> e : got.entrySet()) {
            boolean onA = hosts.get(e.getKey()).equals("a");
            boolean onB = hosts.get(e.getKey()).equals("b");
            for (ChunkSplit s : e.getValue()) {
                assertThat(s.destinations())
                        .containsExactly(
                                new Destination(11, false, onA, List.of(11, 12)),
                                new Destination(14, false, onB, List.of(14)));
            }
        }
    }

    @Test
    void hostRelayIsOnlyForFanOut() throws Exception {
        for (FetchMode mode : List.of(FetchMode.PER_TARGET, FetchMode.PER_HOST)) {
            SplitAssigner a = new SplitAssigner(KEYS, mode, false, true, new SplitPlanner(120_000));
            a.addModel(List.of(cnn("x")), List.of(0, 1, 2, 3), HOSTS, 0);
            drainAll(a)
                    .values()
                    .forEach(
                            l ->
                                    l.forEach(
                                            s ->
                                                    assertThat(s.destinations())
                                                            .noneMatch(Destination::relays)));
        }
        // and a failed file goes per target even in fan-out with the relay
        SplitAssigner a =
                new SplitAssigner(KEYS, FetchMode.FAN_OUT, false, true, new SplitPlanner(120_000));
        a.addModel(
                List.of(FilePlan.failed("m", 1, "file:///bad", "broken")), List.of(0, 1), HOSTS, 0);
        assertThat(drain(a, 0))
                .singleElement()
                .satisfies(s -> assertThat(s.destinations()).containsExactly(dest(11, false)));
        assertThat(drain(a, 1)).singleElement().extracting(ChunkSplit::target).isEqualTo(22);
    }

    @Test
    void aFailedFileIsReportedByEveryPlacedSlotInEveryMode() {
        for (FetchMode mode : FetchMode.values()) {
            SplitAssigner a = assigner(mode);
            a.addModel(
                    List.of(FilePlan.failed("m", 1, "file:///bad", "broken")),
                    List.of(1, 3),
                    HOSTS,
                    0);
            assertThat(drain(a, 1)).singleElement().isInstanceOf(FailureSplit.class);
            assertThat(drain(a, 3)).singleElement().extracting(ChunkSplit::target).isEqualTo(44);
        }
    }

    @Test
    void splitsPutBackComeFirstAndRemainingSplitsKeepTheOrder() throws Exception {
        SplitAssigner a = assigner(FetchMode.PER_TARGET);
        a.addModel(List.of(cnn("x")), List.of(0), HOSTS, 0);
        ChunkSplit first = a.getNext(0).orElseThrow();
        ChunkSplit second = a.getNext(0).orElseThrow();
        a.addSplitsBack(0, List.of(first, second));
        List<ChunkSplit> left = a.remainingSplits().get(0);
        assertThat(left).hasSize(4).startsWith(first, second);
        assertThat(drain(a, 0)).isEqualTo(left);
        assertThat(a.isEmpty(0)).isTrue();
    }

    private static SplitAssigner assigner(FetchMode mode) {
        return new SplitAssigner(KEYS, mode, false, new SplitPlanner(120_000));
    }

    /** The header split and the data section in pieces of at most {@code split} bytes. */
    private static int splitsOf(Path file, long split) throws Exception {
        long dataBytes = Files.size(file) - HeaderParser.read(file).dataStart();
        return 1 + (int) ((dataBytes + split - 1) / split);
    }

    private static Destination dest(int target, boolean owner) {
        return new Destination(target, owner, true);
    }

    private static FilePlan cnn(String name) throws Exception {
        return new FilePlan(
                "cnn",
                2,
                "file:///" + name,
                new ObjectVersion(Files.size(CNN), null),
                HeaderParser.read(CNN),
                null);
    }

    private static List<ChunkSplit> drain(SplitAssigner a, int reader) {
        List<ChunkSplit> out = new ArrayList<>();
        for (Optional<ChunkSplit> s = a.getNext(reader); s.isPresent(); s = a.getNext(reader)) {
            out.add(s.get());
        }
        return out;
    }

    private static Map<Integer, List<ChunkSplit>> drainAll(SplitAssigner a) {
        Map<Integer, List<ChunkSplit>> out = new TreeMap<>();
        for (int r = 0; r < KEYS.length; r++) {
            List<ChunkSplit> got = drain(a, r);
            if (!got.isEmpty()) {
                out.put(r, got);
            }
        }
        return out;
    }
}
