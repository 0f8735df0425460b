// The JVM bridge end to end: the real jar in a real JVM, called over real gRPC
// on a Unix socket, loading fixture functions built by Maven
// (runtime-java-bridge/fixtures). Handlers, context, env, logs, errors,
// status codes, class-loader visibility and isolation between functions.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  JavaBridgeCallError,
  JavaBridgeClient,
  type JavaBridge,
  type LoadRequest,
} from '../sidecar/java/bridge-process.ts';
import {
  EventRecorder,
  fixtureJar,
  invokeJson,
  resultOf,
  startTestBridge,
  requireBuiltJava,
} from './support/java-bridge.ts';

// Without the built jars every test here would fail obscurely: fail the file at once, with the fix.
requireBuiltJava();

let bridge: JavaBridge;
let events: EventRecorder;
let hello: string;
let sandboxes = 0;

/** A new Sandbox id per load, so tests never collide. */
function sandboxId(name: string): string {
  return `java-test/${name}-${++sandboxes}`;
}

async function load(request: Omit<LoadRequest, 'sandboxId'> & { name: string }): Promise<string> {
  const id = sandboxId(request.name);
  const { name: _name, ...rest } = request;
  await bridge.client.load({ sandboxId: id, timeoutMs: 10_000, ...rest });
  return id;
}

async function loadFailure(request: LoadRequest): Promise<JavaBridgeCallError> {
  const error = await bridge.client.load(request).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, `Load of ${request.handler} should fail`).toBeInstanceOf(JavaBridgeCallError);
  return error as JavaBridgeCallError;
}

beforeAll(async () => {
  bridge = await startTestBridge({ maxQueuedPerSandbox: 2 });
  events = new EventRecorder(bridge.client);
  hello = fixtureJar('hello');
});

afterAll(async () => {
  events?.close();
  await bridge?.stop();
});

describe('handlers', () => {
  test('a RequestHandler with Map types gets a full Context, and a fat jar still links to the bridge’s handler API', async () => {
    const id = await load({
      name: 'hello',
      jarPath: hello,
      handler: 'com.example.Hello::handleRequest',
      functionName: 'hello-fn',
      functionVersion: '7',
      memoryMib: 256,
      timeoutMs: 5_000,
    });
    const first = await invokeJson(
      bridge.client,
      id,
      { name: 'roost' },
      { requestId: 'req-map-1' },
    );
    expect(resultOf(first)).toMatchObject({
      hello: 'roost',
      requestId: 'req-map-1',
      functionName: 'hello-fn',
      functionVersion: '7',
      memoryLimitInMB: 256,
      handlerApiIsShared: true,
    });
    const remaining = resultOf<{ remainingTimeInMillis: number }>(first).remainingTimeInMillis;
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(5_000);
    expect(first.coldStart).toBe(true);
    expect(first.durationMs).toBeGreaterThan(0);
    expect(first.cpuMicros).toBeGreaterThan(0);
    expect(first.memoryBytes).toBeGreaterThan(0);
    const second = await invokeJson(bridge.client, id, { name: 'again' });
    expect(resultOf(second)).toMatchObject({ hello: 'again' });
    expect(second.coldStart).toBe(false);
  });

  test('a RequestHandler with POJO types maps JSON to and from beans and public fields', async () => {
    const id = await load({ name: 'greeter', jarPath: hello, handler: 'com.example.Greeter' });
    const response = await invokeJson(bridge.client, id, {
      name: 'Ada',
      times: 2,
      unknownField: true,
    });
    expect(resultOf(response)).toEqual({ message: 'hello Ada! hello Ada!', length: 21 });
  });

  test('a RequestStreamHandler gets the payload bytes as they are and returns what it writes', async () => {
    const id = await load({ name: 'shout', jarPath: hello, handler: 'com.example.Shout' });
    const response = await bridge.client.invoke({
      sandboxId: id,
      requestId: 'req-stream',
      payload: Buffer.from('not json at all: ünïcode'),
    });
    expect(response.error).toBe('FUNCTION_ERROR_NONE');
    expect(response.result.toString('utf8')).toBe('NOT JSON AT ALL: ÜNÏCODE');
  });

  test('plain public methods are handlers too, with or without a Context, static or not', async () => {
    const greet = await load({
      name: 'plain-greet',
      jarPath: hello,
      handler: 'com.example.Plain::greet',
    });
    const reply = await invokeJson(
      bridge.client,
      greet,
      { name: 'Grace' },
      { requestId: 'req-plain' },
    );
    expect(resultOf(reply)).toEqual({ message: 'plain hello Grace (req-plain)', length: 29 });
    const echo = await load({
      name: 'plain-echo',
      jarPath: hello,
      handler: 'com.example.Plain::echo',
    });
    expect(resultOf(await invokeJson(bridge.client, echo, 'abc'))).toBe('abcabc');
  });

  test('a payload that does not fit the handler’s input type fails the invocation, not the call', async () => {
    const id = await load({
      name: 'greeter-bad-input',
      jarPath: hello,
      handler: 'com.example.Greeter',
    });
    const response = await bridge.client.invoke({
      sandboxId: id,
      requestId: 'bad',
      payload: Buffer.from('[1, 2'),
    });
    expect(response.error).toBe('FUNCTION_ERROR_UNHANDLED');
    expect(response.errorType).toBe('dev.roost.bridge.handler.PayloadException');
    expect(response.errorMessage).toMatch(/^Cannot read the payload as .*com\.example\.Greeting/);
  });

  test('a handler that throws fails its invocation with the exception’s type, message, cause and stack', async () => {
    const id = await load({ name: 'thrower', jarPath: hello, handler: 'com.example.Thrower' });
    const response = await invokeJson(bridge.client, id, 'this');
    expect(response.error).toBe('FUNCTION_ERROR_UNHANDLED');
    expect(response.errorType).toBe('java.lang.IllegalStateException');
    expect(response.errorMessage).toBe('cannot handle this');
    expect(response.stackTrace[0]).toMatch(
      /^com\.example\.Thrower\.handleRequest\(Thrower\.java:\d+\)$/,
    );
    expect(response.stackTrace).toContain(
      'Caused by: java.lang.IllegalArgumentException: the cause',
    );
    expect(response.stackTrace.join('\n')).not.toContain('dev.roost.bridge');
  });
});

test('each function sees exactly the environment it was loaded with, never the bridge’s', async () => {
  const envReader = { jarPath: hello, handler: 'com.example.EnvReader' };
  const a = await load({ name: 'env-a', ...envReader, env: { GREETING: 'hi from a' } });
  const b = await load({ name: 'env-b', ...envReader, env: { GREETING: 'hi from b', EXTRA: '1' } });
  expect(resultOf(await invokeJson(bridge.client, a, {}))).toEqual({
    greeting: 'hi from a',
    all: { GREETING: 'hi from a' },
    secret: 'null',
    path: 'null',
  });
  expect(resultOf(await invokeJson(bridge.client, b, {}))).toMatchObject({
    greeting: 'hi from b',
    all: { GREETING: 'hi from b', EXTRA: '1' },
  });
});

test('stdout, stderr and the LambdaLogger of a function reach its own log with the request id', async () => {
  const id = await load({ name: 'logs', jarPath: hello, handler: 'com.example.Hello' });
  await invokeJson(bridge.client, id, { name: 'logger' }, { requestId: 'req-logs-1' });
  const [namespace, name] = id.split('/');
  const line = (message: string) =>
    events.waitForLog(id, (log) => log.message === message, `the log line "${message}"`);
  expect(await line('hello logger on stdout')).toMatchObject({
    namespace,
    sandbox: name,
    requestId: 'req-logs-1',
    stream: 'stdout',
    level: 'LOG_LEVEL_INFO',
  });
  expect(await line('a line in two prints')).toMatchObject({
    requestId: 'req-logs-1',
    stream: 'stdout',
  });
  expect(await line('hello logger on stderr')).toMatchObject({
    requestId: 'req-logs-1',
    stream: 'stderr',
    level: 'LOG_LEVEL_ERROR',
  });
  expect(await line('hello logger through the LambdaLogger')).toMatchObject({
    requestId: 'req-logs-1',
    stream: 'console',
    level: 'LOG_LEVEL_INFO',
  });
  expect(await line('a warning')).toMatchObject({
    requestId: 'req-logs-1',
    level: 'LOG_LEVEL_WARN',
  });
  expect(await line('hello logger through LambdaRuntime')).toMatchObject({
    requestId: 'req-logs-1',
  });
  expect(events.logs(id).every((log) => log.timeMs > Date.now() - 60_000)).toBe(true);
});

describe('Load failures name their cause with a stable code', () => {
  test.each([
    {
      what: 'a class that is not in the jar',
      handler: 'com.example.Missing::handleRequest',
      code: 'ROOST_JAVA_CLASS_NOT_FOUND',
      message: /class com\.example\.Missing is not in .*hello\.jar/,
    },
    {
      what: 'a method the class does not have',
      handler: 'com.example.Hello::nope',
      code: 'ROOST_JAVA_NO_SUCH_METHOD',
      message: /com\.example\.Hello has no public method nope/,
    },
    {
      what: 'a class that is not a handler',
      handler: 'com.example.NotAHandler',
      code: 'ROOST_JAVA_NOT_A_HANDLER',
      message: /implements neither RequestHandler nor RequestStreamHandler/,
    },
    {
      what: 'a constructor that throws',
      handler: 'com.example.BadConstructor',
      code: 'ROOST_JAVA_CONSTRUCTOR_THREW',
      message:
        /constructor of com\.example\.BadConstructor threw java\.lang\.IllegalStateException: no configuration found/,
    },
    {
      what: 'a malformed handler string',
      handler: 'com.example.Hello::',
      code: 'ROOST_JAVA_BAD_REQUEST',
      message: /is not of the form/,
    },
  ])('$what: $code', async ({ handler, code, message }) => {
    const id = sandboxId('broken');
    const error = await loadFailure({ sandboxId: id, jarPath: hello, handler });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(id);
    // Nothing of the failed Load is left behind under its id.
    const invoke = await invokeJson(bridge.client, id, {}).catch((err: JavaBridgeCallError) => err);
    expect(invoke).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_FOUND' });
  });

  test('a jar that does not exist, and an id that is not namespace/name, are invalid arguments', async () => {
    const noJar = await loadFailure({
      sandboxId: sandboxId('nojar'),
      jarPath: '/nonexistent/fn.jar',
      handler: 'a.B',
    });
    expect(noJar).toMatchObject({ code: 'ROOST_JAVA_JAR_NOT_FOUND', grpcCode: 3 });
    const badId = await loadFailure({
      sandboxId: 'no-slash',
      jarPath: hello,
      handler: 'com.example.Hello',
    });
    expect(badId).toMatchObject({ code: 'ROOST_JAVA_BAD_REQUEST', grpcCode: 3 });
  });

  test('loading an id that is already loaded fails ALREADY_EXISTS', async () => {
    const id = await load({ name: 'twice', jarPath: hello, handler: 'com.example.Greeter' });
    const again = await loadFailure({
      sandboxId: id,
      jarPath: hello,
      handler: 'com.example.Greeter',
    });
    expect(again).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_EXISTS', grpcCode: 6 });
  });
});

test('Invoke says NOT_FOUND for an unknown Sandbox, RESOURCE_EXHAUSTED when its queue is full, FAILED_PRECONDITION while it unloads', async () => {
  const unknown = await invokeJson(bridge.client, 'java-test/never-loaded', 1).catch(
    (err: unknown) => err,
  );
  expect(unknown).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_FOUND', grpcCode: 5 });

  // Concurrency 1 and (for this bridge) 2 queued: the fourth call is one too many.
  const id = await load({
    name: 'sleeper',
    jarPath: hello,
    handler: 'com.example.Sleeper',
    concurrency: 1,
  });
  const running = invokeJson(bridge.client, id, 700);
  await new Promise((r) => setTimeout(r, 150));
  const queued = [invokeJson(bridge.client, id, 100), invokeJson(bridge.client, id, 100)];
  await new Promise((r) => setTimeout(r, 150));
  const rejected = await invokeJson(bridge.client, id, 1).catch((err: unknown) => err);
  expect(rejected).toMatchObject({ code: 'ROOST_JAVA_QUEUE_FULL', grpcCode: 8 });

  // Unloading waits (within its grace) for what was accepted, and refuses new calls meanwhile.
  const unloading = bridge.client.unload({ sandboxId: id, graceMs: 10_000 });
  await new Promise((r) => setTimeout(r, 100));
  const refused = await invokeJson(bridge.client, id, 1).catch((err: unknown) => err);
  expect(refused).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_READY', grpcCode: 9 });
  for (const response of await Promise.all([running, ...queued]))
    expect(resultOf(response)).toMatch(/^slept/);
  expect(await unloading).toEqual({ stoppedThreads: [] });
  const gone = await invokeJson(bridge.client, id, 1).catch((err: unknown) => err);
  expect(gone).toMatchObject({ code: 'ROOST_JAVA_SANDBOX_NOT_FOUND' });
});

test('a function runs as many invocations at once as its concurrency allows', async () => {
  const id = await load({
    name: 'parallel',
    jarPath: hello,
    handler: 'com.example.Sleeper',
    concurrency: 3,
  });
  const started = Date.now();
  const answers = await Promise.all([1, 2, 3].map(() => invokeJson(bridge.client, id, 600)));
  for (const answer of answers) expect(resultOf(answer)).toBe('slept 600');
  // Three at once take one sleep, not three (with room for a busy machine).
  expect(Date.now() - started).toBeLessThan(1_500);
});

test('a function sees its own jar, the JDK and the handler API, and nothing of the bridge’s libraries', async () => {
  const id = await load({ name: 'visibility', jarPath: hello, handler: 'com.example.Visibility' });
  const visible = resultOf(
    await invokeJson(bridge.client, id, [
      'java.sql.Connection',
      'javax.xml.parsers.DocumentBuilder',
      'com.amazonaws.services.lambda.runtime.Context',
      'com.example.Greeter',
      'io.grpc.Server',
      'io.grpc.netty.shaded.io.netty.channel.Channel',
      'com.google.protobuf.Message',
      'com.fasterxml.jackson.databind.ObjectMapper',
      'org.objectweb.asm.ClassReader',
      'dev.roost.bridge.Main',
      'dev.roost.bridge.loader.FunctionClassLoader',
    ]),
  );
  expect(visible).toEqual({
    'java.sql.Connection': true,
    'javax.xml.parsers.DocumentBuilder': true,
    'com.amazonaws.services.lambda.runtime.Context': true,
    'com.example.Greeter': true,
    'io.grpc.Server': false,
    'io.grpc.netty.shaded.io.netty.channel.Channel': false,
    'com.google.protobuf.Message': false,
    'com.fasterxml.jackson.databind.ObjectMapper': false,
    'org.objectweb.asm.ClassReader': false,
    'dev.roost.bridge.Main': false,
    'dev.roost.bridge.loader.FunctionClassLoader': false,
  });
});

test('two functions bundling different versions of the same class each see their own, and statics do not cross', async () => {
  const a = await load({
    name: 'isolation-a',
    jarPath: fixtureJar('isolation-a'),
    handler: 'com.example.isolation.Probe',
  });
  const b = await load({
    name: 'isolation-b',
    jarPath: fixtureJar('isolation-b'),
    handler: 'com.example.isolation.Probe',
  });
  expect(resultOf(await invokeJson(bridge.client, a, { remember: 'set by a' }))).toEqual({
    version: '1',
    remembered: 'set by a',
    loader: `roost-fn ${a}`,
  });
  expect(resultOf(await invokeJson(bridge.client, b, {}))).toEqual({
    version: '2',
    remembered: null,
    loader: `roost-fn ${b}`,
  });
  await invokeJson(bridge.client, b, { remember: 'set by b' });
  expect(resultOf(await invokeJson(bridge.client, a, {}))).toMatchObject({
    version: '1',
    remembered: 'set by a',
  });
});

test('a call without the right bearer secret fails UNAUTHENTICATED', async () => {
  for (const secret of ['wrong', '']) {
    const stranger = new JavaBridgeClient(bridge.client.target, secret);
    try {
      const error = await stranger.health().catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'ROOST_JAVA_UNAUTHENTICATED', grpcCode: 16 });
    } finally {
      stranger.close();
    }
  }
  expect(await bridge.client.health()).toMatchObject({ serving: true, runtimes: ['java'] });
});

test('Health and Stats count the loaded Sandboxes and report heap and Metaspace', async () => {
  const before = await bridge.client.stats();
  const id = await load({ name: 'stats', jarPath: hello, handler: 'com.example.Greeter' });
  const health = await bridge.client.health();
  const stats = await bridge.client.stats();
  expect(health.sandboxes).toBe(stats.loadedSandboxes);
  expect(stats.loadedSandboxes).toBe(before.loadedSandboxes + 1);
  expect(stats.heapUsedBytes).toBeGreaterThan(1024 * 1024);
  expect(stats.metaspaceUsedBytes).toBeGreaterThan(1024 * 1024);
  expect(stats.loadedClasses).toBeGreaterThan(1000);
  await bridge.client.unload({ sandboxId: id });
  expect((await bridge.client.stats()).loadedSandboxes).toBe(before.loadedSandboxes);
});
