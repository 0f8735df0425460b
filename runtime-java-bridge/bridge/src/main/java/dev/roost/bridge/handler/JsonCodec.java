package dev.roost.bridge.handler;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.TypeFactory;
import com.fasterxml.jackson.databind.util.LRUMap;
import com.fasterxml.jackson.databind.util.LookupCache;
import java.io.IOException;
import java.lang.reflect.Type;

/**
 * JSON in and out for one function, with a mapper of its own. Jackson caches
 * serializers, deserializers and resolved types per mapper, and its shared
 * default TypeFactory caches types for the whole JVM: a mapper with its own
 * type cache, dropped with the function, is what keeps those caches from
 * pinning an unloaded function's classes.
 *
 * <p>Jackson lives in the bridge's loader, so it honours Jackson annotations
 * only if they are the bridge's own classes; functions do not see them. POJOs
 * are mapped through public fields and bean getters and setters.
 */
public final class JsonCodec {
  private static final byte[] EMPTY = new byte[0];

  private final ObjectMapper mapper;

  public JsonCodec(ClassLoader functionLoader) {
    TypeFactory types =
        TypeFactory.defaultInstance().withCache(typeCache()).withClassLoader(functionLoader);
    mapper =
        JsonMapper.builder()
            .typeFactory(types)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
  }

  private static LookupCache<Object, JavaType> typeCache() {
    return new LRUMap<>(16, 256);
  }

  public JavaType type(Type type) {
    return mapper.getTypeFactory().constructType(type);
  }

  /** A reader with its deserializer built now, so the first invocation does not pay for it. */
  public ObjectReader readerFor(JavaType type) {
    return mapper.readerFor(type);
  }

  /** A writer for a declared type; Object means the runtime type of each value. */
  public ObjectWriter writerFor(JavaType type) {
    return type.getRawClass() == Object.class ? mapper.writer() : mapper.writerFor(type);
  }

  /** An empty payload is null, as a Lambda invoked without an event gets. */
  public static Object read(ObjectReader reader, byte[] payload) {
    if (payload.length == 0) return null;
    try {
      return reader.readValue(payload);
    } catch (IOException e) {
      throw new PayloadException(
          "Cannot read the payload as " + reader.getValueType() + ": " + originalMessage(e), e);
    }
  }

  public static byte[] write(ObjectWriter writer, Object value) {
    try {
      return value == null ? "null".getBytes(java.nio.charset.StandardCharsets.UTF_8) : writer.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new PayloadException(
          "Cannot write the result of type " + value.getClass().getName() + " as JSON: " + e.getMessage(), e);
    }
  }

  private static String originalMessage(IOException e) {
    return e instanceof com.fasterxml.jackson.core.JacksonException j ? j.getOriginalMessage() : e.getMessage();
  }

  static byte[] empty() {
    return EMPTY;
  }
}
