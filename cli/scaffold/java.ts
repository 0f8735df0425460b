// The files `roost init --runtime java` writes: a Maven project with a
// RequestHandler (aws-lambda-java-core in "provided" scope: the JVM bridge
// supplies it) and a JUnit test, so that `mvn -q test` passes as written and
// `mvn -q package` makes the jar `roost deploy` ships.

/** "hello-java" -> "HelloJava": the handler class. */
export function javaClassName(name: string): string {
  const pascal = name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return /^[A-Za-z]/.test(pascal) ? pascal : `Fn${pascal}`;
}

export function javaHandler(name: string): string {
  return `com.example.${javaClassName(name)}::handleRequest`;
}

export function javaScaffold(name: string): Record<string, string> {
  const className = javaClassName(name);
  return {
    'pom.xml': pom(name),
    [`src/main/java/com/example/${className}.java`]: handlerSource(name, className),
    [`src/test/java/com/example/${className}Test.java`]: testSource(className),
    'README.md': `# ${name}

A Roost function (Java 17, AWS Lambda's RequestHandler).

\`\`\`sh
mvn -q test                      # the handler's tests
mvn -q package                   # target/${name}.jar
roost deploy . --name ${name} --handler ${javaHandler(name)}
roost invoke ${name} --http --path '/?name=you'
\`\`\`
`,
  };
}

function pom(name: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- ${name}: a Roost function. aws-lambda-java-core is "provided": the JVM bridge
     supplies it at run time, so the jar holds only this function's classes. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>

  <groupId>com.example</groupId>
  <artifactId>${name}</artifactId>
  <version>0.1.0</version>
  <packaging>jar</packaging>

  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>

  <dependencies>
    <dependency>
      <groupId>com.amazonaws</groupId>
      <artifactId>aws-lambda-java-core</artifactId>
      <version>1.3.0</version>
      <scope>provided</scope>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.14.1</version>
      <scope>test</scope>
    </dependency>
  </dependencies>

  <build>
    <finalName>\${project.artifactId}</finalName>
    <!-- Versions pinned: Maven's built-in defaults are too old for JUnit 5. -->
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId>
        <version>3.3.1</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.14.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.5.4</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-jar-plugin</artifactId>
        <version>3.4.2</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

function handlerSource(name: string, className: string): string {
  return `package com.example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/**
 * ${name}: greets whoever the event names. Called over HTTP through the
 * gateway, the event is the function-URL event and the name comes from the
 * query string (?name=you); called with JSON such as {"name": "you"}, from
 * the top level. The event arrives as a Map; the returned Map is sent back
 * as JSON.
 */
public class ${className} implements RequestHandler<Map<String, Object>, Map<String, Object>> {
  @Override
  public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
    String name = nameIn(event);
    context.getLogger().log("greeting " + name);
    return Map.of("message", "Hello, " + name + "!", "requestId", context.getAwsRequestId());
  }

  private static String nameIn(Map<String, Object> event) {
    if (event == null) return "world";
    if (event.get("name") instanceof String name) return name;
    if (event.get("queryStringParameters") instanceof Map<?, ?> query
        && query.get("name") instanceof String name) return name;
    return "world";
  }
}
`;
}

function testSource(className: string): string {
  return `package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ${className}Test {
  @Test
  void greetsTheNameInTheEvent() {
    TestContext context = new TestContext();
    Map<String, Object> result = new ${className}().handleRequest(Map.of("name", "Roost"), context);
    assertEquals("Hello, Roost!", result.get("message"));
    assertEquals("test-request-id", result.get("requestId"));
    assertEquals(List.of("greeting Roost"), context.logged);
  }

  @Test
  void greetsTheNameInTheQueryStringOfAnHttpEvent() {
    Map<String, Object> event =
        Map.of("rawPath", "/", "queryStringParameters", Map.of("name", "you"));
    Map<String, Object> result = new ${className}().handleRequest(event, new TestContext());
    assertEquals("Hello, you!", result.get("message"));
  }

  @Test
  void greetsTheWorldWithoutAName() {
    Map<String, Object> result = new ${className}().handleRequest(Map.of(), new TestContext());
    assertEquals("Hello, world!", result.get("message"));
  }

  /** A Context like the one the bridge passes, with fixed values; it keeps what is logged. */
  static final class TestContext implements Context {
    final List<String> logged = new ArrayList<>();

    public String getAwsRequestId() { return "test-request-id"; }
    public String getLogGroupName() { return "roost"; }
    public String getLogStreamName() { return "test"; }
    public String getFunctionName() { return "test"; }
    public String getFunctionVersion() { return "1"; }
    public String getInvokedFunctionArn() { return "test"; }
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
`;
}
