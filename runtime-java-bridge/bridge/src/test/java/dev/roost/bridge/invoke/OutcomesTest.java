package dev.roost.bridge.invoke;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class OutcomesTest {
  @Test
  void keepsTheFunctionsFramesAndCausesAndCutsTheBridges() {
    RuntimeException cause = new RuntimeException("root");
    cause.setStackTrace(new StackTraceElement[] {frame("com.example.Db", "query", 12), frame("dev.roost.bridge.sandbox.Invocation", "run", 1)});
    IllegalStateException error = new IllegalStateException("boom", cause);
    error.setStackTrace(
        new StackTraceElement[] {
          frame("dev.roost.bridge.guest.Guard", "systemExit", 30),
          frame("com.example.Hello", "handleRequest", 7),
          frame("dev.roost.bridge.handler.RequestHandlerAdapter", "invoke", 20),
          frame("java.lang.Thread", "run", 840)
        });
    assertEquals(
        List.of(
            "com.example.Hello.handleRequest(Hello.java:7)",
            "Caused by: java.lang.RuntimeException: root",
            "com.example.Db.query(Db.java:12)"),
        Outcomes.functionStack(error));
  }

  private static StackTraceElement frame(String className, String method, int line) {
    String file = className.substring(className.lastIndexOf('.') + 1) + ".java";
    return new StackTraceElement(className, method, file, line);
  }
}
