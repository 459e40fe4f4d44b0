package io.odin.ws.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.odin.ws.config.ConfigException;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;

import java.io.FileNotFoundException;

/**
 * The Hazelcast configuration of a node: a file when {@code cluster.config} names one, else Vert.x's default
 * (which holds the maps and multimaps Vert.x needs) with the network set from the cluster.* keys:
 * TCP-IP join, multicast off, this node's host and port, fast failure detection.
 */
public final class HazelcastConfigs {

  /** Ports scanned on a member given without port, so nodes on one machine find each other. */
  static final int PORT_COUNT = 10;

  private HazelcastConfigs() {
  }

  public static Config build(ClusterSettings s) {
    Config config;
    if (!s.configFile.isEmpty()) {
      try {
        config = new FileSystemXmlConfig(s.configFile);
      } catch (FileNotFoundException e) {
        throw new ConfigException("cluster.config: no such file " + s.configFile);
      }
      return config;
    }
    config = ConfigUtil.loadConfig();
    if (config == null) {
      config = new Config();
    }
    // cluster.name, with cluster.secret folded in: members without the secret are not admitted
    config.setClusterName(s.hazelcastClusterName());
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(s.port).setPortAutoIncrement(true).setPortCount(PORT_COUNT);
    // bind and advertise this address (also works for a host name, unlike interface patterns)
    config.setProperty("hazelcast.local.localAddress", s.host);
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(2);
    if (s.members.isEmpty()) {
      join.getTcpIpConfig().addMember(s.host);
    } else {
      s.members.forEach(m -> join.getTcpIpConfig().addMember(m));
    }
    // crashed members are dropped after this long without heartbeats; Hazelcast's default is 60 s
    config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    config.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(s.failureDetectionSeconds));
    // a member cut off by a long pause or a split looks for the cluster again this often, not after 5 minutes
    config.setProperty("hazelcast.merge.first.run.delay.seconds", String.valueOf(s.mergeDelaySeconds));
    config.setProperty("hazelcast.merge.next.run.delay.seconds", String.valueOf(s.mergeDelaySeconds));
    // nodes start one after another; don't wait for stragglers before serving
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.max.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.logging.type", "slf4j");
    // no "[address] [cluster name] [version]" prefix on Hazelcast's log lines: the cluster name is derived from
    // cluster.secret and is all Hazelcast checks at join, so it must not be copied out of a log (issue 33)
    config.setProperty("hazelcast.logging.details.enabled", "false");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    return config;
  }
}
