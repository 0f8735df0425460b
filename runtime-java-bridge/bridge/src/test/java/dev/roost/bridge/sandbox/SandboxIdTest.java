package dev.roost.bridge.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.roost.bridge.BridgeError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SandboxIdTest {
  @Test
  void splitsNamespaceAndName() throws BridgeError {
    assertEquals(new SandboxId("default", "hello-7f"), SandboxId.parse("default/hello-7f"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "hello", "/hello", "default/", "a/b/c"})
  void rejectsAnythingElse(String text) {
    assertThrows(BridgeError.class, () -> SandboxId.parse(text));
  }
}
