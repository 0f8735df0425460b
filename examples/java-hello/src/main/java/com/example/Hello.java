package com.example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/**
 * Greets whoever the event names. Invoked with JSON such as {"name": "Ada"},
 * or over HTTP, where the event is the function-URL event and the name comes
 * from the query string (?name=Ada). The returned Map is sent back as JSON.
 */
public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
  @Override
  public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
    String name = nameIn(event);
    context.getLogger().log("greeting " + name);
    return Map.of(
        "message", "Hello, " + name + "!",
        "runtime", "java " + Runtime.version().feature(),
        "requestId", context.getAwsRequestId());
  }

  private static String nameIn(Map<String, Object> event) {
    if (event == null) return "world";
    if (event.get("name") instanceof String name) return name;
    if (event.get("queryStringParameters") instanceof Map<?, ?> query
        && query.get("name") instanceof String name) return name;
    return "world";
  }
}
