package io.odin.ws.loadtest;

import java.util.ArrayList;
import java.util.List;

/**
 * Whether a run did what it was asked, judged from its counts, for the exit status that scripts, CI and the GCP
 * matrix rely on. A run that did not offer the load it was asked for (the publisher fell behind, or publishes went
 * unanswered) or lost messages (fewer deliveries than the accepted messages call for) is not a success, even when
 * every delivery it saw was right: its latency figures describe another load than the one asked for.
 *
 * @param deliveriesExpected what the accepted messages call for: each targeted message once per connection of its
 *                           tokens, each broadcast once per open connection
 */
record RunOutcome(int connectionsAsked, long connectionsOpened, long messagesPlanned, long messagesSent,
                  long messagesRefused, long messagesUnanswered, long deliveriesExpected, long deliveriesReceived,
                  RoutingVerifier.Result verification) {

  static final int OK = 0;
  static final int ROUTING_VIOLATIONS = 1;
  static final int INCOMPLETE = 3;
  static final int SHORT = 4;
  /** Below this share of the planned messages sent, the load asked for was not offered. */
  static final double OFFERED_SHARE = 0.98;

  boolean loadNotOffered() {
    return messagesSent < messagesPlanned * OFFERED_SHARE || messagesUnanswered > 0;
  }

  long deliveriesMissing() {
    return Math.max(0, deliveriesExpected - deliveriesReceived);
  }

  /** One line per shortfall of the load asked for, for the report's problems. */
  List<String> problems() {
    List<String> out = new ArrayList<>();
    if (messagesSent < messagesPlanned * OFFERED_SHARE) {
      out.add("the publisher fell behind: " + messagesSent + " of " + messagesPlanned + " messages sent (the load asked"
        + " for was not offered: this machine or the gateway could not take it; figures describe a smaller load)");
    }
    if (messagesUnanswered > 0) {
      out.add(messagesUnanswered + " messages were never answered by the publish path");
    }
    if (deliveriesMissing() > 0) {
      out.add(deliveriesMissing() + " of " + deliveriesExpected + " expected deliveries did not arrive by the end of the"
        + " drain (messages lost, or later than --drain)");
    }
    return out;
  }

  /** 0 ok, 1 routing violations, 3 incomplete (connections or publishes refused), 4 short (load not offered, messages lost). */
  int exitCode() {
    if (verification != null && !verification.ok()) {
      return ROUTING_VIOLATIONS;
    }
    if (connectionsOpened < connectionsAsked || messagesRefused > 0) {
      return INCOMPLETE;
    }
    if (loadNotOffered() || deliveriesMissing() > 0) {
      return SHORT;
    }
    return OK;
  }
}
