package io.odin.ws.node;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's current {@link DispatchSetting}. Dispatchers read it once per batch (a volatile read), so a change
 * takes effect at a batch boundary; {@link #offer} keeps the newest of what the API, the event bus and the
 * cluster's answer on join bring.
 */
public final class DispatchControl {

  private static final Logger log = LoggerFactory.getLogger(DispatchControl.class);

  private volatile DispatchSetting current;

  public DispatchControl(DispatchSetting initial) {
    this.current = initial;
  }

  public DispatchSetting current() {
    return current;
  }

  /** Applies {@code setting} when it supersedes the current one; returns the setting in force afterwards. */
  public synchronized DispatchSetting offer(DispatchSetting setting) {
    if (setting.supersedes(current)) {
      log.info("dispatch setting now {} (was {})", setting, current);
      current = setting;
    }
    return current;
  }
}
