package dev.roost.bridge.sandbox;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.ErrorCode;

/** "namespace/name", the key of every call about a Sandbox. */
public record SandboxId(String namespace, String name) {
  public static SandboxId parse(String text) throws BridgeError {
    int slash = text == null ? -1 : text.indexOf('/');
    if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0)
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_BAD_REQUEST, "sandbox_id '" + text + "' is not of the form namespace/name");
    return new SandboxId(text.substring(0, slash), text.substring(slash + 1));
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
