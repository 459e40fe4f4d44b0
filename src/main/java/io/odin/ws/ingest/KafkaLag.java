package io.odin.ws.ingest;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Set;

/**
 * The consumer's lag, summed over its assigned partitions, read from the per-partition {@code records-lag}
 * metrics the Kafka consumer publishes over JMX. Reading JMX is safe from any thread, unlike the consumer.
 */
final class KafkaLag {

  private final ObjectName pattern;

  KafkaLag(String clientId) {
    try {
      pattern = new ObjectName("kafka.consumer:type=consumer-fetch-manager-metrics,client-id=" + clientId + ",*");
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  long total() {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    long sum = 0;
    Set<ObjectName> names = server.queryNames(pattern, null);
    for (ObjectName name : names) {
      if (name.getKeyProperty("partition") == null) {
        continue;
      }
      try {
        Object v = server.getAttribute(name, "records-lag");
        if (v instanceof Number && !Double.isNaN(((Number) v).doubleValue())) {
          sum += ((Number) v).longValue();
        }
      } catch (Exception ignored) {
        // the partition was just revoked
      }
    }
    return sum;
  }
}
