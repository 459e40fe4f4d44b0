package io.odin.ws.logging;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimitedLogTest {

  @Test
  void oneLinePerReasonPerIntervalWithoutStackTraces() {
    Logger logger = (Logger) LoggerFactory.getLogger("rate-limited-log-test");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    AtomicLong now = new AtomicLong(1_000_000);
    RateLimitedLog log = new RateLimitedLog(logger, 10_000, now::get);
    for (int i = 0; i < 100; i++) {
      log.warn("bad_json", "refused: {}", new IllegalArgumentException("broken\nsecond line"));
      log.warn("bad_http", "refused http {}", i);
    }
    assertEquals(2, lines.list.size(), "one per reason");
    ILoggingEvent first = lines.list.get(0);
    assertNull(first.getThrowableProxy(), "no stack trace");
    assertEquals("refused: IllegalArgumentException: broken", first.getFormattedMessage());
    now.addAndGet(10_000);
    log.warn("bad_json", "refused: {}", "again");
    assertEquals(3, lines.list.size());
    assertTrue(lines.list.get(2).getFormattedMessage().contains("99 more like this"), lines.list.get(2).getFormattedMessage());
    logger.detachAppender(lines);
  }
}
