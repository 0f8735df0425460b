package dev.roost.bridge.unload;

import dev.roost.bridge.loader.FunctionClassLoader;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;

/**
 * Takes a function's JDBC drivers out of DriverManager, which otherwise holds
 * them (and so the function's loader) for the life of the JVM. DriverManager
 * lets only code from the driver's own loader see and deregister it, so the
 * work is done by {@link JdbcDriverDeregistration}, defined inside the
 * function's loader from the bridge's copy of its bytes.
 */
public final class JdbcDriverRelease {
  private static final String HELPER = JdbcDriverDeregistration.class.getName();

  private JdbcDriverRelease() {}

  /** Returns how many drivers were deregistered. */
  public static int release(FunctionClassLoader loader) {
    if (!loader.linkedJdbc()) return 0;
    try {
      Class<?> helper = loader.defineHelper(HELPER, helperBytes());
      Method deregister = helper.getMethod("deregisterAll");
      return (Integer) deregister.invoke(null);
    } catch (ReflectiveOperationException | IOException | LinkageError e) {
      return 0;
    }
  }

  private static byte[] helperBytes() throws IOException {
    String resource = "/" + HELPER.replace('.', '/') + ".class";
    try (InputStream in = JdbcDriverRelease.class.getResourceAsStream(resource)) {
      if (in == null) throw new IOException(resource + " is missing from the bridge");
      return in.readAllBytes();
    }
  }
}
