package dev.roost.bridge.unload;

import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Collections;

/**
 * Not used by the bridge directly: its bytes are defined in a function's
 * loader, where DriverManager shows it that function's drivers. It must use
 * nothing but the JDK.
 */
public final class JdbcDriverDeregistration {
  private JdbcDriverDeregistration() {}

  public static int deregisterAll() {
    int count = 0;
    ClassLoader own = JdbcDriverDeregistration.class.getClassLoader();
    for (Driver driver : Collections.list(DriverManager.getDrivers())) {
      if (driver.getClass().getClassLoader() != own) continue;
      try {
        DriverManager.deregisterDriver(driver);
        count++;
      } catch (SQLException | SecurityException ignored) {
        // Nothing more can be done for this driver.
      }
    }
    return count;
  }
}
