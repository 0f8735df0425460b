package dev.roost.bridge.logs;

import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;
import java.nio.charset.StandardCharsets;

/**
 * The LambdaLogger of one Sandbox. Functions often keep the logger of their
 * first invocation in a field, so the request id is looked up on each call
 * rather than fixed when the logger is made.
 */
public final class FunctionLogger implements LambdaLogger {
  private final SandboxLog log;

  public FunctionLogger(SandboxLog log) {
    this.log = log;
  }

  @Override
  public void log(String message) {
    log(message, LogLevel.UNDEFINED);
  }

  @Override
  public void log(byte[] message) {
    log(new String(message, StandardCharsets.UTF_8), LogLevel.UNDEFINED);
  }

  @Override
  public void log(String message, LogLevel level) {
    String text = message == null ? "null" : message;
    if (text.endsWith("\n")) text = text.substring(0, text.length() - 1);
    log.line("console", levelOf(level), LogContext.requestIdFor(log), text);
  }

  @Override
  public void log(byte[] message, LogLevel level) {
    log(new String(message, StandardCharsets.UTF_8), level);
  }

  private static dev.roost.v1alpha1.LogLevel levelOf(LogLevel level) {
    return switch (level == null ? LogLevel.UNDEFINED : level) {
      case TRACE -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_TRACE;
      case DEBUG -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_DEBUG;
      case WARN -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_WARN;
      case ERROR -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_ERROR;
      case FATAL -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_FATAL;
      default -> dev.roost.v1alpha1.LogLevel.LOG_LEVEL_INFO;
    };
  }
}
