package dev.roost.bridge.handler;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.ErrorCode;
import java.util.regex.Pattern;

/** A parsed handler string: {@code com.example.Hello::handleRequest}, or just the class. */
public record HandlerSpec(String className, String methodName, boolean methodGiven) {
  public static final String DEFAULT_METHOD = "handleRequest";

  private static final String IDENTIFIER = "[\\p{javaJavaIdentifierStart}][\\p{javaJavaIdentifierPart}]*";
  private static final Pattern CLASS_NAME = Pattern.compile(IDENTIFIER + "(\\." + IDENTIFIER + ")*");
  private static final Pattern METHOD_NAME = Pattern.compile(IDENTIFIER);

  public static HandlerSpec parse(String handler) throws BridgeError {
    String text = handler == null ? "" : handler.trim();
    int separator = text.indexOf("::");
    String className = separator < 0 ? text : text.substring(0, separator);
    String method = separator < 0 ? null : text.substring(separator + 2);
    if (!CLASS_NAME.matcher(className).matches() || (method != null && !METHOD_NAME.matcher(method).matches()))
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_BAD_REQUEST,
          "handler '" + handler + "' is not of the form com.example.Hello::handleRequest or com.example.Hello");
    return new HandlerSpec(className, method == null ? DEFAULT_METHOD : method, method != null);
  }

  @Override
  public String toString() {
    return className + "::" + methodName;
  }
}
