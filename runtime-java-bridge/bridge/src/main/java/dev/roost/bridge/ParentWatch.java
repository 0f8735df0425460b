package dev.roost.bridge;

import java.io.IOException;
import java.io.InputStream;

/**
 * Ends the bridge when the process that started it is gone, so that no JVM is
 * left behind by a sidecar that crashed or was killed outright: its end of our
 * stdin pipe closes (the sidecar keeps it open and never writes), or the
 * parent's pid disappears.
 */
final class ParentWatch {
  /** Past this, a shutdown stuck in a function's shutdown hook is cut short. */
  private static final long EXIT_DEADLINE_MS = 5_000;

  private ParentWatch() {}

  static void exitWhenStdinCloses(InputStream stdin) {
    Thread reader =
        BridgeThreads.daemon(
            "roost-bridge-stdin",
            () -> {
              byte[] sink = new byte[256];
              try {
                while (stdin.read(sink) >= 0) {
                  // Nothing is ever sent; reading only waits for the end.
                }
              } catch (IOException closed) {
                // Same as end of file.
              }
              exit("standard input closed (the parent is gone)");
            });
    reader.start();
  }

  static void exitWhenParentDies(long pid) {
    ProcessHandle.of(pid)
        .ifPresentOrElse(
            parent -> parent.onExit().thenRun(() -> exit("parent process " + pid + " exited")),
            () -> exit("parent process " + pid + " is not running"));
  }

  private static void exit(String why) {
    BridgeLog.info("exiting: " + why);
    Thread deadline =
        BridgeThreads.daemon(
            "roost-bridge-exit-deadline",
            () -> {
              try {
                Thread.sleep(EXIT_DEADLINE_MS);
              } catch (InterruptedException ignored) {
                return;
              }
              Runtime.getRuntime().halt(1);
            });
    deadline.start();
    System.exit(0);
  }
}
