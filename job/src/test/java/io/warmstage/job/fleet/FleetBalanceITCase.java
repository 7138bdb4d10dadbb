package io.warmstage.job.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.warmstage.job.demo.DemoModel;
import io.warmstage.job.demo.LoopbackOrigin;
import io.warmstage.plan.FetchMode;
import io.warmstage.staging.ResidentSet;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FleetBalanceITCase {
    static final int HOSTS = 4;
    static final int PER_HOST = 2;
    static final int SLOTS = HOSTS * PER_HOST;
    static final long SPLIT = 256 << 10;

    static Path modelDir;
    static String indexPath;
    static List<Path> shards;
    static long modelBytes;
    static long indexBytes;
    static long splitCount;

    @BeforeAll
    static void writeModel() throws Exception {
        modelDir = Path.of("target", "fleet-balance-model").toAbsolutePath();
        Path index =
                DemoModel.write(modelDir, new DemoModel.Dims(2048, 512, 1408, 2, 8, 2), 4 << 20);
        indexPath = modelDir.relativize(index).toString();
        indexBytes = Files.size(index);
        try (Stream<Path> files = Files.list(modelDir)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
        for (Path s : shards) {
            long size = Files.size(s);
            modelBytes += size;
            long data = size - headerEnd(s);
            splitCount += 1 + (data + SPLIT - 1) / SPLIT;
        }
    }

    @AfterEach
    void release() {
        ResidentSet.releaseAll();
    }

    @Test
    void fanOut() throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            var m = new TrafficRun(HOSTS, PER_HOST, FetchMode.FAN_OUT, null, SPLIT).run(origin, indexPath);
            System.out.println("model " + modelBytes + " splits " + splitCount + " index " + indexBytes + " served " + m.originBytes());
            m.traffic().readers().values().forEach(System.out::println);
            m.traffic().hosts().values().forEach(h -> System.out.println(h + " remoteOut=" + h.bytesOutRemote()));
        }
    }

    void perHost() throws Exception {
        try (LoopbackOrigin origin = LoopbackOrigin.serve(modelDir)) {
            var m = new TrafficRun(HOSTS, PER_HOST, FetchMode.PER_HOST, null, SPLIT).run(origin, indexPath);
            System.out.println("model " + modelBytes + " splits " + splitCount + " index " + indexBytes + " served " + m.originBytes());
            m.traffic().readers().values().forEach(System.out::println);
            m.traffic().hosts().values().forEach(h -> System.out.println(h + " remoteOut=" + h.bytesOutRemote()));
        }
    }

    /** 8 + N: where a safetensors file's data section starts. */
    static long headerEnd(Path file) throws Exception {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 0);
            return 8 + b.flip().getLong();
        }
    }
}
