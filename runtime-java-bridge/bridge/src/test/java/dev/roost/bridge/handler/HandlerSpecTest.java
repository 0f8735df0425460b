package dev.roost.bridge.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.roost.bridge.BridgeError;
import dev.roost.bridge.ErrorCode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HandlerSpecTest {
  @ParameterizedTest
  @CsvSource({
    "com.example.Hello::handleRequest, com.example.Hello, handleRequest, true",
    "com.example.Hello, com.example.Hello, handleRequest, false",
    "Hello::greet, Hello, greet, true",
    "com.example.Outer$Inner::run, com.example.Outer$Inner, run, true"
  })
  void parsesClassAndMethod(String text, String className, String method, boolean given) throws BridgeError {
    assertEquals(new HandlerSpec(className, method, given), HandlerSpec.parse(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "com.example.Hello::", "::handleRequest", "com..Hello", "com.example.Hello::a::b", "1com.Hello"})
  void rejectsWhatIsNotAHandler(String text) {
    BridgeError error = assertThrows(BridgeError.class, () -> HandlerSpec.parse(text));
    assertEquals(ErrorCode.ROOST_JAVA_BAD_REQUEST, error.code());
  }
}
