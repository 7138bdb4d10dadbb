package io.warmstage.job.report;

import io.warmstage.staging.StagingEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster job's summary (run with parallelism 1): counts every event, checkpoints what it has
 * counted (so a restored job's summary covers the events sent before the restore), and when the
 * input ends logs the {@link Summary} table and publishes its totals as the job's accumulators
 * ({@code warmstage.*}, read by {@code ./warmstage watch} from the REST API).
 */
public final class SummaryOperator extends AbstractStreamOperator<Void>
        implements OneInputStreamOperator<StagingEvent, Void>, BoundedOneInput {
    /** Prefix of the accumulators holding the totals. */
    public static final String ACCUMULATOR_PREFIX = "warmstage.";

    private static final Logger SUMMARY_LOG = LoggerFactory.getLogger(SummaryOperator.class);

    private transient List<StagingEvent> events;
    private transient long tensors;
    private transient long tensorBytes;
    private transient ListState<StagingEvent> eventState;
    private transient ListState<Long> tensorState;

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        eventState =
                context.getOperatorStateStore()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "summary-events", TypeInformation.of(StagingEvent.class)));
        tensorState =
                context.getOperatorStateStore()
                        .getListState(new ListStateDescriptor<>("summary-tensors", Types.LONG));
        events = new ArrayList<>();
        eventState.get().forEach(events::add);
        List<Long> t = new ArrayList<>();
        tensorState.get().forEach(t::add);
        for (int i = 0; i + 1 < t.size(); i += 2) {
            tensors += t.get(i);
            tensorBytes += t.get(i + 1);
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        eventState.update(events);
        tensorState.update(List.of(tensors, tensorBytes));
    }

    @Override
    public void processElement(StreamRecord<StagingEvent> element) {
        StagingEvent e = element.getValue();
        if (StagingEvent.TENSOR.equals(e.event)) {
            tensors++;
            tensorBytes += e.bytes;
        } else {
            events.add(e);
        }
    }

    @Override
    public void endInput() {
        Summary s = summary();
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(table, true, StandardCharsets.UTF_8)) {
            s.print(out);
        }
        SUMMARY_LOG.info("Warmstage summary:{}", table.toString(StandardCharsets.UTF_8));
        counter("filesStaged", s.filesStaged());
        counter("filesFailed", s.filesFailed());
        counter("tensors", s.tensors());
        counter("bytes", s.bytes());
        counter("cacheHits", s.cacheHits());
        counter("cacheMisses", s.cacheMisses());
        counter("stagingMillis", Math.round(s.stagingSeconds() * 1000));
    }

    /** The summary of the events counted so far. */
    Summary summary() {
        Summary s = new Summary();
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (StagingEvent e : events) {
            s.add(e);
            if (StagingEvent.MODEL.equals(e.event)) {
                first = Math.min(first, e.at - Math.round(e.seconds * 1000));
                last = Math.max(last, e.at);
            }
        }
        s.addTensors(tensors, tensorBytes);
        double secs = last >= first ? (last - first) / 1000.0 : 0;
        s.seconds(secs, secs);
        return s;
    }

    private void counter(String name, long value) {
        LongCounter c = new LongCounter(value);
        getRuntimeContext().addAccumulator(ACCUMULATOR_PREFIX + name, c);
    }
}
