package dev.roost.bridge.warmup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * A jar of a few of the bridge's own classes: what the background warm-up
 * loads, the size of a small function rather than the bridge's whole jar
 * (whose thousands of entries would make every Load of the warm-up slow).
 */
final class SmallJar {
  private SmallJar() {}

  static Path write(Path jar, Class<?>... classes) throws IOException {
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file)) {
      for (Class<?> type : classes) {
        String entry = type.getName().replace('.', '/') + ".class";
        try (InputStream bytes = type.getClassLoader().getResourceAsStream(entry)) {
          if (bytes == null) throw new IOException("the bridge has no " + entry);
          out.putNextEntry(new JarEntry(entry));
          bytes.transferTo(out);
          out.closeEntry();
        }
      }
    }
    return jar;
  }

  /** Removes the directory and what is in it; what cannot be removed is left to the OS. */
  static void delete(Path dir) {
    if (dir == null) return;
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException ignored) {
      // A temporary directory.
    }
  }
}
