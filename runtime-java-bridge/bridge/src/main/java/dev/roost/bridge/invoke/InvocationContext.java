package dev.roost.bridge.invoke;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;

/** The Context a handler receives: who it is, which request, and how long it has left. */
public final class InvocationContext implements Context {
  private final String requestId;
  private final String namespace;
  private final String name;
  private final String functionName;
  private final String functionVersion;
  private final int memoryLimitMiB;
  private final long deadlineNanos;
  private final LambdaLogger logger;

  public InvocationContext(
      String requestId,
      String namespace,
      String name,
      String functionName,
      String functionVersion,
      int memoryLimitMiB,
      long deadlineNanos,
      LambdaLogger logger) {
    this.requestId = requestId;
    this.namespace = namespace;
    this.name = name;
    this.functionName = functionName;
    this.functionVersion = functionVersion;
    this.memoryLimitMiB = memoryLimitMiB;
    this.deadlineNanos = deadlineNanos;
    this.logger = logger;
  }

  @Override
  public String getAwsRequestId() {
    return requestId;
  }

  @Override
  public String getLogGroupName() {
    return "/roost/" + namespace + "/" + functionName;
  }

  @Override
  public String getLogStreamName() {
    return namespace + "/" + name;
  }

  @Override
  public String getFunctionName() {
    return functionName;
  }

  @Override
  public String getFunctionVersion() {
    return functionVersion;
  }

  /** Not an AWS ARN: the same shape, naming the Roost function. */
  @Override
  public String getInvokedFunctionArn() {
    return "roost:function:" + namespace + ":" + functionName + ":" + functionVersion;
  }

  @Override
  public CognitoIdentity getIdentity() {
    return null;
  }

  @Override
  public ClientContext getClientContext() {
    return null;
  }

  @Override
  public int getRemainingTimeInMillis() {
    long left = (deadlineNanos - System.nanoTime()) / 1_000_000;
    return (int) Math.max(0, Math.min(Integer.MAX_VALUE, left));
  }

  @Override
  public int getMemoryLimitInMB() {
    return memoryLimitMiB;
  }

  @Override
  public LambdaLogger getLogger() {
    return logger;
  }
}
