package dev.roost.bridge;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The bridge's secret published for a sidecar in another container of the
 * pod. Readable by the owner and the pod's shared group only (0640): function
 * processes run under users of their own, outside that group. Written to a
 * temporary name and renamed, so a reader never sees half a secret; written
 * only once the bridge serves, so its appearance means "dial now".
 */
final class SecretFile {
  private SecretFile() {}

  /** Removes a previous bridge's secret before this one serves: a sidecar must not dial with it. */
  static void clear(Path file) throws IOException {
    Files.deleteIfExists(file);
  }

  static void publish(Path file, String secret) throws IOException {
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    Files.deleteIfExists(partial);
    Files.createFile(partial, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")));
    Files.writeString(partial, secret, StandardCharsets.US_ASCII);
    Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
