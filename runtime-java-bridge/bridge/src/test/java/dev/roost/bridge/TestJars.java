package dev.roost.bridge;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/** Compiles Java sources with the JDK's compiler into a jar, as a function's build would. */
public final class TestJars {
  private TestJars() {}

  /** {@code sources}: class name to source; compiled against this test's classpath. */
  public static Path compile(Path dir, Map<String, String> sources, Map<String, byte[]> resources)
      throws IOException {
    Path src = Files.createDirectories(dir.resolve("src"));
    Path classes = Files.createDirectories(dir.resolve("classes"));
    List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path")));
    for (Map.Entry<String, String> source : sources.entrySet()) {
      Path file = src.resolve(source.getKey().replace('.', '/') + ".java");
      Files.createDirectories(file.getParent());
      Files.writeString(file, source.getValue());
      args.add(file.toString());
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    if (javac.run(null, null, null, args.toArray(String[]::new)) != 0)
      throw new IllegalStateException("the test sources do not compile");
    Path jar = dir.resolve("function.jar");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
        Files.copy(file, out);
        out.closeEntry();
      }
      for (Map.Entry<String, byte[]> resource : resources.entrySet()) {
        out.putNextEntry(new JarEntry(resource.getKey()));
        write(out, resource.getValue());
        out.closeEntry();
      }
    }
    return jar;
  }

  private static void write(OutputStream out, byte[] bytes) throws IOException {
    out.write(bytes);
  }
}
