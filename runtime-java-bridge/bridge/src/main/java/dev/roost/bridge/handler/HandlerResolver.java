package dev.roost.bridge.handler;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.fasterxml.jackson.databind.JavaType;
import dev.roost.bridge.BridgeError;
import dev.roost.bridge.ErrorCode;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;

/**
 * Turns a handler string into something the bridge can call: loads the class
 * from the function's loader (running its static initialiser), creates the
 * instance, and picks the adapter for its kind. Runs on one of the function's
 * own threads, so whatever the constructor starts or sets belongs to it. Every
 * failure names its cause with a stable code.
 */
public final class HandlerResolver {
  private HandlerResolver() {}

  @SuppressWarnings("unchecked")
  public static HandlerAdapter resolve(HandlerSpec spec, ClassLoader loader, String jarPath, JsonCodec json)
      throws BridgeError {
    Class<?> type = loadClass(spec, loader, jarPath);
    boolean defaultMethod = spec.methodName().equals(HandlerSpec.DEFAULT_METHOD);
    if (defaultMethod && RequestStreamHandler.class.isAssignableFrom(type))
      return new StreamHandlerAdapter((RequestStreamHandler) instantiate(type));
    if (defaultMethod && RequestHandler.class.isAssignableFrom(type)) {
      JavaType[] io = json.type(type).findTypeParameters(RequestHandler.class);
      JavaType input = io.length == 2 ? io[0] : json.type(Object.class);
      JavaType output = io.length == 2 ? io[1] : json.type(Object.class);
      return new RequestHandlerAdapter(
          (RequestHandler<Object, Object>) instantiate(type), json.readerFor(input), json.writerFor(output));
    }
    Optional<Method> method = findMethod(type, spec.methodName());
    if (method.isEmpty()) {
      if (!spec.methodGiven())
        throw new BridgeError(
            ErrorCode.ROOST_JAVA_NOT_A_HANDLER,
            type.getName() + " implements neither RequestHandler nor RequestStreamHandler and has no public "
                + "method handleRequest taking (input) or (input, Context)");
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_NO_SUCH_METHOD,
          type.getName() + " has no public method " + spec.methodName()
              + " taking (input), (input, Context), (InputStream, OutputStream) or (InputStream, OutputStream, Context)");
    }
    return methodAdapter(type, method.get(), json);
  }

  private static Class<?> loadClass(HandlerSpec spec, ClassLoader loader, String jarPath) throws BridgeError {
    try {
      return Class.forName(spec.className(), true, loader);
    } catch (ClassNotFoundException e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_CLASS_NOT_FOUND, "class " + spec.className() + " is not in " + jarPath);
    } catch (ExceptionInInitializerError e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_CONSTRUCTOR_THREW,
          "the static initialiser of " + spec.className() + " threw " + describe(cause),
          cause);
    } catch (LinkageError e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_CLASS_NOT_LOADABLE,
          "class " + spec.className() + " cannot be loaded from " + jarPath + ": " + describe(e),
          e);
    }
  }

  private static Object instantiate(Class<?> type) throws BridgeError {
    if (type.isInterface() || Modifier.isAbstract(type.getModifiers()))
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_NO_CONSTRUCTOR, type.getName() + " is abstract or an interface: it cannot be instantiated");
    Constructor<?> constructor;
    try {
      constructor = type.getDeclaredConstructor();
      constructor.setAccessible(true);
    } catch (NoSuchMethodException e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_NO_CONSTRUCTOR, type.getName() + " has no constructor without arguments");
    }
    try {
      return constructor.newInstance();
    } catch (InvocationTargetException e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_CONSTRUCTOR_THREW,
          "the constructor of " + type.getName() + " threw " + describe(e.getCause()),
          e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_NO_CONSTRUCTOR, "cannot call the constructor of " + type.getName() + ": " + e, e);
    }
  }

  /** The public method of that name with the richest shape AWS Lambda accepts. */
  private static Optional<Method> findMethod(Class<?> type, String name) {
    return Arrays.stream(type.getMethods())
        .filter(m -> m.getName().equals(name) && !m.isBridge() && !m.isSynthetic())
        .filter(m -> shapeOf(m) != null)
        .max(Comparator.comparingInt(Method::getParameterCount));
  }

  private static MethodHandlerAdapter.Shape shapeOf(Method method) {
    Class<?>[] p = method.getParameterTypes();
    if (p.length == 0) return MethodHandlerAdapter.Shape.NO_INPUT;
    if (p.length >= 2 && p[0] == InputStream.class && p[1] == OutputStream.class) {
      if (p.length == 2) return MethodHandlerAdapter.Shape.STREAMS;
      if (p.length == 3 && p[2] == Context.class) return MethodHandlerAdapter.Shape.STREAMS_CONTEXT;
      return null;
    }
    if (p.length == 1) return MethodHandlerAdapter.Shape.INPUT;
    if (p.length == 2 && p[1] == Context.class) return MethodHandlerAdapter.Shape.INPUT_CONTEXT;
    return null;
  }

  private static HandlerAdapter methodAdapter(Class<?> type, Method method, JsonCodec json) throws BridgeError {
    Object instance = Modifier.isStatic(method.getModifiers()) ? null : instantiate(type);
    MethodHandle target;
    try {
      method.setAccessible(true);
      target = MethodHandles.lookup().unreflect(method);
    } catch (IllegalAccessException | RuntimeException e) {
      throw new BridgeError(
          ErrorCode.ROOST_JAVA_NO_SUCH_METHOD, "cannot call " + type.getName() + "::" + method.getName() + ": " + e, e);
    }
    if (instance != null) target = target.bindTo(instance);
    MethodHandlerAdapter.Shape shape = shapeOf(method);
    boolean takesInput =
        shape == MethodHandlerAdapter.Shape.INPUT || shape == MethodHandlerAdapter.Shape.INPUT_CONTEXT;
    JavaType input = json.type(takesInput ? method.getGenericParameterTypes()[0] : Object.class);
    JavaType output = json.type(method.getReturnType() == void.class ? Object.class : method.getGenericReturnType());
    return new MethodHandlerAdapter(method, shape, target, json.readerFor(input), json.writerFor(output));
  }

  static String describe(Throwable t) {
    return t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }
}
