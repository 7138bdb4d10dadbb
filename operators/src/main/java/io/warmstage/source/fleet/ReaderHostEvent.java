package io.warmstage.source.fleet;

import io.warmstage.host.HostIdentity;
import org.apache.flink.api.connector.source.SourceEvent;

/**
 * Sent by each reader to the enumerator when it starts: the host it runs on, as {@link
 * HostIdentity} names it. The enumerator assigns no split before every reader has reported, so
 * placement and the per-host fetch and cache owners see the whole fleet.
 *
 * @param host the reader's host name
 */
public record ReaderHostEvent(String host) implements SourceEvent {}
