package dev.roost.bridge.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.Context;
import dev.roost.bridge.TestJars;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FunctionClassLoaderTest {
  @TempDir Path dir;

  @Test
  void theJarIsChildFirstButTheHandlerApiAndTheJdkAreParentFirst() throws Exception {
    Path jar =
        TestJars.compile(
            dir,
            Map.of(
                "com.example.Own", "package com.example; public class Own {}",
                // A fat jar's own copy of the handler API: must lose to the bridge's.
                "com.amazonaws.services.lambda.runtime.Context",
                    "package com.amazonaws.services.lambda.runtime; public interface Context {}"),
            Map.of("config.properties", "from=jar".getBytes(StandardCharsets.UTF_8)));
    try (FunctionClassLoader loader = FunctionClassLoader.open("ns/name", jar, Map.of(), null)) {
      assertSame(loader, loader.loadClass("com.example.Own").getClassLoader());
      assertSame(Context.class, loader.loadClass("com.amazonaws.services.lambda.runtime.Context"));
      assertSame(String.class, loader.loadClass("java.lang.String"));
      assertSame(java.sql.Connection.class, loader.loadClass("java.sql.Connection"));
      assertEquals("from=jar", new String(loader.getResourceAsStream("config.properties").readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void nothingOfTheBridgeIsVisible() throws Exception {
    Path jar = TestJars.compile(dir, Map.of("com.example.Own", "package com.example; public class Own {}"), Map.of());
    try (FunctionClassLoader loader = FunctionClassLoader.open("ns/name", jar, Map.of(), null)) {
      for (String internal :
          new String[] {
            "io.grpc.Server", "com.google.protobuf.Message", "com.fasterxml.jackson.databind.ObjectMapper",
            "org.objectweb.asm.ClassReader", FunctionClassLoader.class.getName()
          }) {
        ClassNotFoundException e = assertThrows(ClassNotFoundException.class, () -> loader.loadClass(internal));
        assertTrue(e.getMessage().contains("is not in " + jar.toAbsolutePath()), e.getMessage());
      }
    }
  }

  @Test
  void twoLoadersOfOneJarDefineTwoSeparateClasses() throws Exception {
    Path jar = TestJars.compile(dir, Map.of("com.example.Own", "package com.example; public class Own { public static int n; }"), Map.of());
    try (FunctionClassLoader a = FunctionClassLoader.open("ns/a", jar, Map.of(), null);
        FunctionClassLoader b = FunctionClassLoader.open("ns/b", jar, Map.of(), null)) {
      Class<?> first = a.loadClass("com.example.Own");
      Class<?> second = b.loadClass("com.example.Own");
      assertNotSame(first, second);
      first.getField("n").setInt(null, 42);
      assertEquals(0, second.getField("n").getInt(null));
    }
  }
}
