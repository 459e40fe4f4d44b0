package io.odin.ws.ingest;

import io.odin.ws.protocol.Envelope;
import io.odin.ws.protocol.EnvelopeException;
import io.odin.ws.protocol.EnvelopeParser;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One poll's records, parsed and split for dispatch: all records of a partition go to the same dispatcher
 * (so a token's messages keep partition order), each dispatcher gets one batch, and each batch carries the
 * offsets it makes committable once the dispatcher has handed it to the shards. Bad records are set aside
 * with their reason; their offsets still advance, so a partition never stalls behind one.
 */
public final class PolledBatch {

  /** A record skipped as bad. */
  public static final class BadRecord {
    public final ConsumerRecord<String, byte[]> record;
    public final EnvelopeException problem;

    BadRecord(ConsumerRecord<String, byte[]> record, EnvelopeException problem) {
      this.record = record;
      this.problem = problem;
    }
  }

  /** What one dispatcher gets from this poll. */
  public static final class Part {
    public final int dispatcher;
    public final List<Envelope> envelopes = new ArrayList<>();
    /** Next offset to commit per partition, valid once this part is handed over. */
    public final Map<TopicPartition, Long> commitOffsets = new HashMap<>();

    Part(int dispatcher) {
      this.dispatcher = dispatcher;
    }
  }

  private final Part[] parts;
  private final List<BadRecord> bad = new ArrayList<>();
  private int records;

  private PolledBatch(int dispatchers) {
    parts = new Part[dispatchers];
  }

  /** Which dispatcher a partition's records always go through. */
  public static int dispatcherFor(String topic, int partition, int dispatchers) {
    return Math.floorMod(31 * topic.hashCode() + partition, dispatchers);
  }

  /**
   * Splits one poll's records, partition by partition (each in offset order): one dispatcher and one commit offset
   * per partition, not per record.
   *
   * @param typeHeader the record header that supplies the type when the envelope has none
   * @param channelTopics topic to the channel its records go to when their envelope names no target
   *                      ({@code kafka.channelTopics}; {@code {key}} stands for the record key)
   */
  public static PolledBatch of(ConsumerRecords<String, byte[]> records, EnvelopeParser parser, String typeHeader,
                               Map<String, String> channelTopics, int dispatchers) {
    PolledBatch batch = new PolledBatch(dispatchers);
    for (TopicPartition tp : records.partitions()) {
      List<ConsumerRecord<String, byte[]>> partition = records.records(tp);
      if (partition.isEmpty()) {
        continue;
      }
      int d = dispatcherFor(tp.topic(), tp.partition(), dispatchers);
      Part part = batch.parts[d];
      if (part == null) {
        part = batch.parts[d] = new Part(d);
      }
      part.commitOffsets.put(tp, partition.get(partition.size() - 1).offset() + 1);
      String source = tp.topic() + "/" + tp.partition();
      for (ConsumerRecord<String, byte[]> r : partition) {
        batch.records++;
        try {
          Envelope e = parser.parse(r.value(), r.key(), header(r, typeHeader),
            KafkaSettings.channelOf(channelTopics, r.topic(), r.key()), r.timestamp());
          e.readFrom(source, r.offset());
          part.envelopes.add(e);
        } catch (EnvelopeException e) {
          batch.bad.add(new BadRecord(r, e));
        }
      }
    }
    return batch;
  }

  private static String header(ConsumerRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** The non-empty parts, one per dispatcher that has records of this poll. */
  public List<Part> parts() {
    List<Part> out = new ArrayList<>();
    for (Part p : parts) {
      if (p != null) {
        out.add(p);
      }
    }
    return out;
  }

  public List<BadRecord> bad() {
    return bad;
  }

  public int records() {
    return records;
  }
}
