package dev.roost.bridge.warmup;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A function the bridge loads from its own jar at start, to run the load and
 * invoke paths once (class loading, rewriting, JSON for a POJO and a Map)
 * before the first real Sandbox pays for it. Uses nothing but the JDK and the
 * handler API, as any function does.
 */
public final class WarmupFunction implements RequestHandler<WarmupFunction.Event, Map<String, Object>> {
  /** A POJO input, so Jackson's bean deserializer path is warmed too. */
  public static final class Event {
    public String name;
    public int count;
    public List<String> tags;
  }

  @Override
  public Map<String, Object> handleRequest(Event event, Context context) {
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("name", event == null ? null : event.name);
    result.put("count", event == null ? 0 : event.count + 1);
    result.put("tags", event == null ? List.of() : event.tags);
    result.put("requestId", context.getAwsRequestId());
    result.put("remainingMs", context.getRemainingTimeInMillis());
    result.put("home", System.getenv("HOME"));
    return result;
  }
}
