package dev.roost.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BridgeOptionsTest {
  private static final Map<String, String> SECRET = Map.of("ROOST_BRIDGE_SECRET", "s3cret");

  @Test
  void readsTheSocketFromArgumentsOrEnvironment() {
    assertEquals(Path.of("/run/roost/b.sock"), BridgeOptions.parse(new String[] {"--socket", "/run/roost/b.sock"}, SECRET).socketPath());
    Map<String, String> env = Map.of("ROOST_BRIDGE_SECRET", "s", "ROOST_BRIDGE_SOCKET", "/tmp/x.sock");
    assertEquals(Path.of("/tmp/x.sock"), BridgeOptions.parse(new String[] {}, env).socketPath());
  }

  @Test
  void withoutASocketItServesLoopbackTcp() {
    BridgeOptions options = BridgeOptions.parse(new String[] {"--port", "0", "--max-queued", "5"}, SECRET);
    assertEquals(null, options.socketPath());
    assertEquals(5, options.maxQueued());
  }

  @Test
  void refusesToStartWithoutASecret() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BridgeOptions.parse(new String[] {"--socket", "/tmp/s"}, Map.of()));
    assertTrue(e.getMessage().contains("ROOST_BRIDGE_SECRET"));
  }

  @Test
  void namesTheArgumentItDoesNotKnow() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BridgeOptions.parse(new String[] {"--sockt", "x"}, SECRET));
    assertTrue(e.getMessage().startsWith("unknown argument --sockt"));
    assertThrows(IllegalArgumentException.class, () -> BridgeOptions.parse(new String[] {"--port", "70000"}, SECRET));
  }

  @Test
  void withASecretFileItMakesAFreshSecretEachStart() {
    String[] args = {"--socket", "/tmp/s", "--secret-file", "/run/roost-bridge/secret"};
    BridgeOptions first = BridgeOptions.parse(args, Map.of());
    BridgeOptions second = BridgeOptions.parse(args, Map.of());
    assertEquals(Path.of("/run/roost-bridge/secret"), first.secretFile());
    assertEquals(64, first.secret().length());
    assertTrue(!first.secret().equals(second.secret()));
  }

  @Test
  void refusesASecretFromBothPlaces() {
    IllegalArgumentException e = assertThrows(
        IllegalArgumentException.class,
        () -> BridgeOptions.parse(new String[] {"--secret-file", "/tmp/secret"}, SECRET));
    assertTrue(e.getMessage().contains("not both"));
  }
}
