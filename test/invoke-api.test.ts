// Lambda's Invoke API on the gateway, called with the real AWS SDK
// (@aws-sdk/client-lambda) as existing code calls Lambda: the event as the
// payload, the three invocation types, the log tail, function errors in
// Lambda's form, namespaces in the ARN, and the errors Lambda clients expect.
import {
  InvokeCommand,
  LambdaClient,
  type InvokeCommandInput,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SandboxDeployment } from '../kube/api/roost.ts';
import { adminClient, createNamespace, eventually } from './support/cluster.ts';
import { deployNodeFunction } from './support/deployments.ts';
import { startEventSink, type EventSink } from './support/event-sink.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;
let sink: EventSink;
let lambda: LambdaClient;

const FUNCTIONS: Record<string, { source: string; spec?: Partial<SandboxDeployment['spec']> }> = {
  echo: {
    source: `export const handler = async (event, context) => ({ event, requestId: context.awsRequestId });`,
  },
  greet: { source: `export const handler = async (event) => 'hello ' + event.name;` },
  chatty: {
    source: `export const handler = async (event) => { console.log('first line'); console.warn('careful: ' + event.n); return event.n; };`,
  },
  fails: {
    source: `export const handler = async () => { throw new RangeError('out of range'); };`,
  },
  record: {
    source: `export const handler = async (event, context) => {
      await fetch(process.env.SINK + '/record', { method: 'POST', body: JSON.stringify({ event, requestId: context.awsRequestId }) });
      return 'recorded';
    };`,
  },
  small: {
    source: `export const handler = async () => 'ok';`,
    spec: { gateway: { maxBodyBytes: 1024 } },
  },
};

beforeAll(async () => {
  sink = await startEventSink();
  namespace = await createNamespace(client, 'invokeapi');
  system = await startRoostSystem({
    namespace,
    hosts: [{ name: 'host-1' }, { name: 'host-2' }],
  });
  for (const [name, { source, spec }] of Object.entries(FUNCTIONS))
    await deployNodeFunction(client, { namespace, name, source, spec, env: { SINK: sink.url } });
  lambda = lambdaClient(system.gateway.url);
}, 120_000);

afterAll(async () => {
  lambda?.destroy();
  await system?.stop();
  await sink?.stop();
});

function lambdaClient(
  endpoint: string,
  secretAccessKey = 'any',
  accessKeyId = 'roost',
): LambdaClient {
  return new LambdaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
}

/** A function of the test's namespace, as a partial ARN: the namespace stands where the account does. */
const fn = (name: string) => `${namespace}:function:${name}`;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const text = (output: InvokeCommandOutput) => new TextDecoder().decode(output.Payload);
const invoke = (input: InvokeCommandInput, via = lambda) => via.send(new InvokeCommand(input));

async function invokeError(
  input: InvokeCommandInput,
  via = lambda,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await invoke(input, via);
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('the call succeeded');
}

describe('RequestResponse', () => {
  test('the payload is the event itself, and the result comes back as the payload', async () => {
    const output = await eventually(
      async () => {
        try {
          return await invoke({ FunctionName: fn('greet'), Payload: json({ name: 'Roost' }) });
        } catch {
          return undefined; // The gateway may not have seen the endpoints yet.
        }
      },
      { what: 'the gateway to route greet' },
    );
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBeUndefined();
    expect(output.ExecutedVersion).toBe('$LATEST');
    expect(JSON.parse(text(output))).toBe('hello Roost');
  });

  test('the namespace is the account field of an ARN, full or partial; a plain name is in the gateway default namespace', async () => {
    for (const FunctionName of [
      `arn:aws:lambda:us-east-1:${namespace}:function:echo`,
      `${namespace}:function:echo`,
    ]) {
      const output = await invoke({ FunctionName, Payload: json({ via: FunctionName }) });
      expect(JSON.parse(text(output)).event).toEqual({ via: FunctionName });
    }
    // The gateway's --invoke-api-namespace is "default", where there is no echo.
    const error = await invokeError({ FunctionName: 'echo', Payload: json({}) });
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toContain('in namespace default');
  });

  test('an empty payload is the event {}', async () => {
    const output = await invoke({ FunctionName: fn('echo') });
    expect(JSON.parse(text(output)).event).toEqual({});
  });

  test("a function's error is a 200 with X-Amz-Function-Error and Lambda's error JSON", async () => {
    const output = await invoke({ FunctionName: fn('fails'), Payload: json({}) });
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBe('Unhandled');
    const error = JSON.parse(text(output)) as {
      errorType: string;
      errorMessage: string;
      trace: string[];
    };
    expect(error.errorType).toBe('RangeError');
    expect(error.errorMessage).toBe('out of range');
    expect(Array.isArray(error.trace)).toBe(true);
  });

  test("LogType Tail returns the invocation's log lines, base64, in LogResult", async () => {
    const output = await invoke({
      FunctionName: fn('chatty'),
      Payload: json({ n: 7 }),
      LogType: 'Tail',
    });
    expect(JSON.parse(text(output))).toBe(7);
    const log = Buffer.from(output.LogResult!, 'base64').toString('utf8');
    expect(log).toContain('first line');
    expect(log).toContain('careful: 7');
    expect(log).toMatch(/REPORT RequestId: \S+\tDuration: [\d.]+ ms/);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(4096);
  });
});

describe('Event and DryRun', () => {
  test('Event answers 202 at once and the function runs with the payload as its event', async () => {
    const before = sink.of('record').length;
    const output = await invoke({
      FunctionName: fn('record'),
      InvocationType: 'Event',
      Payload: json({ order: 42 }),
    });
    expect(output.StatusCode).toBe(202);
    const record = await eventually(() => sink.of('record')[before], {
      what: 'the event to run',
    });
    expect(JSON.parse(record.body).event).toEqual({ order: 42 });
  });

  test('DryRun answers 204 for a function that exists, without running it', async () => {
    const before = sink.of('record').length;
    const output = await invoke({ FunctionName: fn('record'), InvocationType: 'DryRun' });
    expect(output.StatusCode).toBe(204);
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.of('record').length).toBe(before);
  });
});

describe('errors a Lambda client expects', () => {
  test('an unknown function is ResourceNotFoundException (404), for every invocation type', async () => {
    for (const InvocationType of ['RequestResponse', 'Event', 'DryRun'] as const) {
      const error = await invokeError({ FunctionName: fn('missing'), InvocationType });
      expect(error.name).toBe('ResourceNotFoundException');
      expect(error.$metadata.httpStatusCode).toBe(404);
      expect(error.message).toContain(`no SandboxDeployment missing in namespace ${namespace}`);
    }
  });

  test("a payload over the function's limit is RequestTooLargeException (413)", async () => {
    const error = await invokeError({
      FunctionName: fn('small'),
      Payload: json({ pad: 'x'.repeat(2000) }),
    });
    expect(error.name).toBe('RequestTooLargeException');
    expect(error.$metadata.httpStatusCode).toBe(413);
  });

  test('a payload that is not JSON is InvalidRequestContentException (400)', async () => {
    const error = await invokeError({
      FunctionName: fn('echo'),
      Payload: new TextEncoder().encode('{not json'),
    });
    expect(error.name).toBe('InvalidRequestContentException');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  test('a Qualifier names a revision (the one that ran says so); an unknown alias is ResourceNotFoundException', async () => {
    const error = await invokeError({
      FunctionName: fn('echo'),
      Qualifier: 'live',
      Payload: json({}),
    });
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toContain('echo:live');
    const first = await invoke({ FunctionName: fn('echo'), Qualifier: '1', Payload: json({}) });
    expect(first.StatusCode).toBe(200);
    expect(first.ExecutedVersion).toBe('1');
    const latest = await invoke({
      FunctionName: fn('echo'),
      Qualifier: '$LATEST',
      Payload: json({}),
    });
    expect(latest.StatusCode).toBe(200);
  });

  test('a malformed function name is refused naming the forms that work', async () => {
    const error = await invokeError({ FunctionName: 'arn:aws:s3:::bucket:x:y', Payload: json({}) });
    expect(error.name).toBe('InvalidParameterValueException');
    expect(error.message).toContain('NAMESPACE:function:NAME');
  });
});

describe('SigV4 verification (--invoke-api-auth sigv4)', () => {
  let signed: { url: string };
  beforeAll(async () => {
    const keys = mkdtempSync(join(tmpdir(), 'roost-sigv4-'));
    writeFileSync(join(keys, 'AKIDROOSTTEST'), 'right-secret\n');
    signed = await system.startGateway(['--invoke-api-auth=sigv4', `--sigv4-keys-dir=${keys}`]);
  }, 60_000);

  test('a request signed with a known key runs', async () => {
    const via = lambdaClient(signed.url, 'right-secret', 'AKIDROOSTTEST');
    const output = await eventually(
      () =>
        invoke({ FunctionName: fn('greet'), Payload: json({ name: 'signed' }) }, via).catch(
          () => undefined,
        ),
      { what: 'the signed call to run' },
    );
    expect(JSON.parse(text(output))).toBe('hello signed');
    via.destroy();
  });

  test('a wrong secret, an unknown key and no signature are refused with 403', async () => {
    const wrong = lambdaClient(signed.url, 'wrong-secret', 'AKIDROOSTTEST');
    const wrongError = await invokeError({ FunctionName: fn('greet'), Payload: json({}) }, wrong);
    expect(wrongError.name).toBe('InvalidSignatureException');
    expect(wrongError.$metadata.httpStatusCode).toBe(403);
    wrong.destroy();
    const unknown = lambdaClient(signed.url, 'right-secret', 'AKIDUNKNOWN');
    expect(
      (await invokeError({ FunctionName: fn('greet'), Payload: json({}) }, unknown)).name,
    ).toBe('UnrecognizedClientException');
    unknown.destroy();
    const unsigned = await fetch(`${signed.url}/2015-03-31/functions/${fn('greet')}/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  test("Roost's own callers show the invoke token instead; a wrong token is no signature", async () => {
    const call = (authorization: string) =>
      fetch(`${signed.url}/2015-03-31/functions/${fn('greet')}/invocations`, {
        method: 'POST',
        headers: { authorization },
        body: JSON.stringify({ name: 'internal' }),
      });
    const trusted = await call(`Bearer ${system.hosts.token}`);
    expect(trusted.status).toBe(200);
    expect(await trusted.json()).toBe('hello internal');
    const guessed = await call('Bearer not-the-token');
    expect(guessed.status).toBe(403);
    await guessed.arrayBuffer();
  });

  test('a signed request whose body was changed on the way is refused', async () => {
    // Sign one body, send another, keeping the signature.
    let captured: { headers: Record<string, string> } | undefined;
    const via = lambdaClient(signed.url, 'right-secret', 'AKIDROOSTTEST');
    via.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        captured = { headers: { ...request.headers } };
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    await invoke({ FunctionName: fn('greet'), Payload: json({ name: 'a' }) }, via);
    via.destroy();
    const headers = { ...captured!.headers };
    delete headers['content-length'];
    const tampered = await fetch(`${signed.url}/2015-03-31/functions/${fn('greet')}/invocations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'b' }),
    });
    expect(tampered.status).toBe(403);
    expect(tampered.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
  });
});
