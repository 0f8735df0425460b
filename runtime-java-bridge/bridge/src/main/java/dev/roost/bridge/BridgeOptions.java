package dev.roost.bridge;

import java.nio.file.Path;
import java.util.Map;

/**
 * How the bridge was asked to run, from its arguments and environment. Every
 * option is checked here, before anything starts, so a bad start fails with one
 * clear line instead of a stack trace.
 *
 * <pre>
 * --socket PATH            serve on this Unix domain socket (env ROOST_BRIDGE_SOCKET)
 * --port N                 serve on loopback TCP instead (0: any free port); the fallback
 * --max-queued N           invocations that may wait per Sandbox beyond its concurrency (default 64)
 * --exit-on-stdin-close    exit when standard input reaches end of file (the parent died)
 * --parent-pid PID         exit when this process is gone
 * --warmup MODE            before (default): exercise Load and Invoke once before the ready line;
 *                          after: in the background once serving; off
 * --train                  run a start, Load and Invoke through real gRPC, then exit (to record AppCDS)
 * --secret-file PATH      make a fresh secret at each start and publish it in this file (mode 0640,
 *                          written once the bridge serves): for a bridge run as a container of its
 *                          own, whose sidecar reads the file from a volume they share
 *                          (env ROOST_BRIDGE_SECRET_FILE)
 * env ROOST_BRIDGE_SECRET  the bearer secret every call must carry (required without --secret-file)
 * </pre>
 */
public record BridgeOptions(
    Path socketPath,
    int port,
    String secret,
    Path secretFile,
    int maxQueued,
    boolean exitOnStdinClose,
    long parentPid,
    Warmup warmup,
    boolean train) {

  public enum Warmup {
    BEFORE,
    AFTER,
    OFF
  }

  public static final int DEFAULT_MAX_QUEUED = 64;

  public static BridgeOptions parse(String[] args, Map<String, String> env) {
    String socket = env.get("ROOST_BRIDGE_SOCKET");
    String secretFile = env.get("ROOST_BRIDGE_SECRET_FILE");
    Integer port = null;
    int maxQueued = DEFAULT_MAX_QUEUED;
    boolean exitOnStdinClose = false;
    long parentPid = 0;
    Warmup warmup = Warmup.BEFORE;
    boolean train = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--socket" -> socket = value(args, ++i, arg);
        case "--port" -> port = number(value(args, ++i, arg), arg, 0, 65535);
        case "--max-queued" -> maxQueued = number(value(args, ++i, arg), arg, 0, 1_000_000);
        case "--exit-on-stdin-close" -> exitOnStdinClose = true;
        case "--parent-pid" -> parentPid = number(value(args, ++i, arg), arg, 1, Integer.MAX_VALUE);
        case "--warmup" -> warmup = warmupMode(value(args, ++i, arg));
        case "--train" -> train = true;
        case "--secret-file" -> secretFile = value(args, ++i, arg);
        default -> throw new IllegalArgumentException(
            "unknown argument " + arg + " (known: --socket, --port, --max-queued, --exit-on-stdin-close, --parent-pid, --warmup, --train, --secret-file)");
      }
    }
    String secret = env.get("ROOST_BRIDGE_SECRET");
    boolean publishes = secretFile != null && !secretFile.isEmpty();
    if (publishes && secret != null && !secret.isEmpty())
      throw new IllegalArgumentException(
          "give either ROOST_BRIDGE_SECRET or --secret-file, not both: with --secret-file the bridge makes its own secret");
    if (publishes) secret = freshSecret();
    if (train && (secret == null || secret.isEmpty())) secret = "training";
    if (secret == null || secret.isEmpty())
      throw new IllegalArgumentException(
          "ROOST_BRIDGE_SECRET is not set: every call must carry 'authorization: Bearer <secret>', so the bridge needs the secret to check it (or give --secret-file to make one)");
    if (socket != null && port != null)
      throw new IllegalArgumentException("give either --socket or --port, not both");
    Path socketPath = socket == null || socket.isEmpty() ? null : Path.of(socket).toAbsolutePath();
    return new BridgeOptions(
        socketPath,
        port == null ? 0 : port,
        secret,
        publishes ? Path.of(secretFile).toAbsolutePath() : null,
        maxQueued, exitOnStdinClose, parentPid, warmup, train);
  }

  /** 32 random bytes as hex: a new one at every start, so a sidecar tells a restarted bridge by its secret. */
  private static String freshSecret() {
    byte[] bytes = new byte[32];
    new java.security.SecureRandom().nextBytes(bytes);
    return java.util.HexFormat.of().formatHex(bytes);
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) throw new IllegalArgumentException(flag + " needs a value");
    return args[i];
  }

  private static int number(String text, String flag, int min, int max) {
    try {
      int n = Integer.parseInt(text);
      if (n < min || n > max) throw new NumberFormatException();
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " wants a whole number from " + min + " to " + max + ", got " + text);
    }
  }

  private static Warmup warmupMode(String text) {
    try {
      return Warmup.valueOf(text.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--warmup wants before, after or off, got " + text);
    }
  }
}
