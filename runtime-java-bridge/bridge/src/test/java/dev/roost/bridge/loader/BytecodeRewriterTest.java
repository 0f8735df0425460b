package dev.roost.bridge.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roost.bridge.TestJars;
import dev.roost.bridge.guest.SystemExitError;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rewritten calls, run for real in a function loader. */
class BytecodeRewriterTest {
  private static final String CALLS =
      """
      package com.example;
      import java.util.Map;
      public class Calls {
        public static void exit() { System.exit(3); }
        public static void runtimeExit() { Runtime.getRuntime().exit(4); }
        public static void halt() { Runtime.getRuntime().halt(5); }
        public static void exitByReference() { java.util.function.IntConsumer e = System::exit; e.accept(6); }
        public static String one(String name) { return System.getenv(name); }
        public static Map<String, String> all() { return System.getenv(); }
        public static Thread hook() { Thread t = new Thread(() -> {}); Runtime.getRuntime().addShutdownHook(t); return t; }
        public static boolean unhook(Thread t) { return Runtime.getRuntime().removeShutdownHook(t); }
        public static void interrupt(Thread t) { t.interrupt(); }
        public static void stop(Thread t) { t.stop(); }
        public static void interruptGroup(ThreadGroup g) { g.interrupt(); }
      }
      """;

  @TempDir Path dir;

  @Test
  void exitAndHaltThrowInsteadOfEndingTheJvm() throws Exception {
    Class<?> calls = load(Map.of());
    for (String[] call :
        new String[][] {
          {"exit", "System.exit(3)"},
          {"runtimeExit", "Runtime.exit(4)"},
          {"halt", "Runtime.halt(5)"},
          {"exitByReference", "System.exit(6)"}
        }) {
      Method method = calls.getMethod(call[0]);
      InvocationTargetException thrown = assertThrows(InvocationTargetException.class, () -> method.invoke(null));
      assertSame(SystemExitError.class, thrown.getCause().getClass());
      assertTrue(thrown.getCause().getMessage().startsWith(call[1] + " was called"), thrown.getCause().getMessage());
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void getenvShowsTheFunctionsOwnEnvironment() throws Exception {
    Class<?> calls = load(Map.of("GREETING", "hello"));
    assertEquals("hello", calls.getMethod("one", String.class).invoke(null, "GREETING"));
    assertNull(calls.getMethod("one", String.class).invoke(null, "PATH"));
    assertEquals(Map.of("GREETING", "hello"), (Map<String, String>) calls.getMethod("all").invoke(null));
  }

  @Test
  void shutdownHooksAreRecordedAndTakenBackAtUnload() throws Exception {
    Class<?> calls = load(Map.of());
    Thread hook = (Thread) calls.getMethod("hook").invoke(null);
    FunctionClassLoader loader = (FunctionClassLoader) calls.getClassLoader();
    assertEquals(1, loader.removeShutdownHooks());
    // It is gone from the runtime: removing it again finds nothing.
    assertEquals(false, Runtime.getRuntime().removeShutdownHook(hook));
  }

  @Test
  void aFunctionInterruptsOrStopsOnlyItsOwnThreads() throws Exception {
    ThreadGroup own = new ThreadGroup("roost-fn ns/calls");
    Class<?> calls = load(Map.of(), own);
    Method interrupt = calls.getMethod("interrupt", Thread.class);
    Method stop = calls.getMethod("stop", Thread.class);
    Method interruptGroup = calls.getMethod("interruptGroup", ThreadGroup.class);
    Object parked = new Object();
    Thread mine = new Thread(new ThreadGroup(own, "its own below"), () -> park(parked), "mine");
    Thread bridges = new Thread(() -> park(parked), "bridge-thread");
    mine.start();
    bridges.start();
    try {
      interrupt.invoke(null, mine);
      mine.join(5_000);
      assertTrue(!mine.isAlive(), "its own thread was interrupted");
      for (Method call : new Method[] {interrupt, stop}) {
        InvocationTargetException thrown = assertThrows(InvocationTargetException.class, () -> call.invoke(null, bridges));
        assertSame(SecurityException.class, thrown.getCause().getClass());
        assertTrue(thrown.getCause().getMessage().contains("only its own threads, not bridge-thread"), thrown.getCause().getMessage());
      }
      InvocationTargetException thrown =
          assertThrows(InvocationTargetException.class, () -> interruptGroup.invoke(null, bridges.getThreadGroup()));
      assertSame(SecurityException.class, thrown.getCause().getClass());
      assertTrue(bridges.isAlive() && !bridges.isInterrupted(), "the other thread was not touched");
    } finally {
      bridges.interrupt();
      bridges.join(5_000);
    }
  }

  /** Waits until interrupted. */
  private static void park(Object monitor) {
    synchronized (monitor) {
      try {
        monitor.wait();
      } catch (InterruptedException done) {
        // Ends the thread.
      }
    }
  }

  @Test
  void classesThatCallNoneOfThemAreLeftByteForByte() {
    byte[] plain = {(byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 61};
    assertSame(plain, BytecodeRewriter.rewrite(plain));
  }

  private Class<?> load(Map<String, String> env) throws Exception {
    return load(env, null);
  }

  private Class<?> load(Map<String, String> env, ThreadGroup threads) throws Exception {
    Path jar = TestJars.compile(dir, Map.of("com.example.Calls", CALLS), Map.of());
    FunctionClassLoader loader = FunctionClassLoader.open("ns/calls", jar, env, threads);
    return loader.loadClass("com.example.Calls");
  }
}
