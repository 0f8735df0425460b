package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HelloTest {
  @Test
  void greetsTheNameInTheEvent() {
    TestContext context = new TestContext();
    Map<String, Object> result = new Hello().handleRequest(Map.of("name", "Ada"), context);
    assertEquals("Hello, Ada!", result.get("message"));
    assertEquals("test-request-id", result.get("requestId"));
    assertEquals(List.of("greeting Ada"), context.logged);
  }

  @Test
  void greetsTheNameInTheQueryStringOfAnHttpEvent() {
    Map<String, Object> event =
        Map.of("rawPath", "/", "queryStringParameters", Map.of("name", "Grace"));
    assertEquals("Hello, Grace!", new Hello().handleRequest(event, new TestContext()).get("message"));
  }

  @Test
  void greetsTheWorldWithoutAName() {
    assertEquals("Hello, world!", new Hello().handleRequest(Map.of(), new TestContext()).get("message"));
  }

  /** A Context like the one the bridge passes, with fixed values; it keeps what is logged. */
  static final class TestContext implements Context {
    final List<String> logged = new ArrayList<>();

    public String getAwsRequestId() { return "test-request-id"; }
    public String getLogGroupName() { return "roost"; }
    public String getLogStreamName() { return "test"; }
    public String getFunctionName() { return "java-hello"; }
    public String getFunctionVersion() { return "1"; }
    public String getInvokedFunctionArn() { return "java-hello"; }
    public CognitoIdentity getIdentity() { return null; }
    public ClientContext getClientContext() { return null; }
    public int getRemainingTimeInMillis() { return 30_000; }
    public int getMemoryLimitInMB() { return 128; }

    public LambdaLogger getLogger() {
      return new LambdaLogger() {
        public void log(String message) { logged.add(message); }
        public void log(byte[] message) { logged.add(new String(message)); }
      };
    }
  }
}
