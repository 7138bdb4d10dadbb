package io.warmstage.job.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.warmstage.staging.StagingEvent;
import io.warmstage.storage.Redaction;
import java.io.Closeable;
import java.io.IOException;
import java.io.Writer;

/**
 * Writes staging events as JSON lines, one object per line:
 *
 * <pre>
 * {"event":"tensor","model","file","tensor","dtype","shape","bytes","crc32c","slot","device"}
 * {"event":"file","model","file","bytes","tensors","status":"staged"|"failed","cache":"hit"|"miss"|"off","reason"?}
 * {"event":"model","model","status","bytes","seconds","reason"?}
 * {"event":"cache","file","status":"published"|"failed"|"aborted"|"corrupt","bytes","reason"?}
 * {"event":"release","model","status":"released","bytes"}      (a refreshing job let a model go)
 * </pre>
 *
 * Every event but cache also has "slot", "device" and "host" (the slot's host, a simulated one in a
 * local fleet simulation), and "at" (milliseconds since the epoch). URIs and reasons are written
 * without credentials ({@link Redaction}).
 *
 * <pre>
 * </pre>
 */
public final class ReportWriter implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Writer out;

    /**
     * @param out where lines go; closed with this writer
     */
    public ReportWriter(Writer out) {
        this.out = out;
    }

    /** Writes one event as one line. */
    public void write(StagingEvent e) throws IOException {
        out.write(JSON.writeValueAsString(toJson(e)));
        out.write('\n');
    }

    /** The JSON object of one event, with the fields of its kind only. */
    public static ObjectNode toJson(StagingEvent e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("event", e.event);
        putIfSet(n, "model", Redaction.text(e.model));
        putIfSet(n, "file", Redaction.uri(e.file));
        switch (e.event) {
            case StagingEvent.TENSOR -> tensor(n, e);
            case StagingEvent.FILE -> {
                n.put("bytes", e.bytes);
                n.put("tensors", e.tensors);
                n.put("status", e.status);
                n.put("cache", e.cache);
            }
            case StagingEvent.MODEL -> {
                n.put("status", e.status);
                n.put("bytes", e.bytes);
                n.put("seconds", Math.round(e.seconds * 1000) / 1000.0);
            }
            default -> {
                n.put("status", e.status);
                n.put("bytes", e.bytes);
            }
        }
        putIfSet(n, "reason", Redaction.text(e.reason));
        if (!StagingEvent.CACHE.equals(e.event)) {
            n.put("slot", e.slot);
            n.put("device", e.device);
            putIfSet(n, "host", e.host);
            n.put("at", e.at);
        }
        return n;
    }

    /** Writes what is buffered to the file. */
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    private static void tensor(ObjectNode n, StagingEvent e) {
        n.put("tensor", e.tensor);
        n.put("dtype", e.dtype);
        ArrayNode shape = n.putArray("shape");
        for (long d : e.shape) {
            shape.add(d);
        }
        n.put("bytes", e.bytes);
        putIfSet(n, "crc32c", e.crc32c);
    }

    private static void putIfSet(ObjectNode n, String field, String value) {
        if (value != null) {
            n.put(field, value);
        }
    }
}
