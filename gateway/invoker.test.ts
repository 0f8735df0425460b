// The invoker against real gRPC: a sidecar server on a free port answering for
// one Sandbox, an address where nothing listens any more (a sidecar that
// died), and one that answers no SYN (a pod IP gone in a node drain). A
// refused connection, or one not up within the connect timeout, means the
// function never saw the request, so it is tried on another Sandbox, or held
// until one is ready; never 502.
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SandboxEndpoints } from '../kube/api/roost.ts';
import type { KubeClient } from '../kube/client.ts';
import { createLogger } from '../lib/log.ts';
import type { PluggedSandbox } from '../sidecar/plugged-sandbox.ts';
import type { SandboxManager } from '../sidecar/sandbox-manager.ts';
import { SidecarGrpcServer } from '../sidecar/grpc-server.ts';
import { Activator } from './activator.ts';
import { SidecarChannels } from './channels.ts';
import { FunctionEntry } from './function-table.ts';
import { Invoker } from './invoker.ts';
import { synBlackHole, type SynBlackHole } from '../test/support/syn-black-hole.ts';

const token = 'invoker-test-token';
const log = createLogger('invoker-test');
let server: SidecarGrpcServer;
let live: string;
let dead: string;
let unanswered: SynBlackHole;
let channels: SidecarChannels;
/** Short, so that the test waits little; the gateway's is DEFAULT_CONNECT_TIMEOUT_MS. */
const CONNECT_TIMEOUT_MS = 200;
const invoked: string[] = [];

/** A port that was just free and has nothing listening: connecting is refused. */
async function deadAddress(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `127.0.0.1:${port}`;
}

beforeAll(async () => {
  server = new SidecarGrpcServer({
    logs: undefined as never,
    token,
    podName: 'live',
    runtimes: ['nodejs'],
    sampleUsage: async () => undefined,
    log,
  });
  const sandbox = {
    invoke: async (request: { requestId: string }) => {
      invoked.push(request.requestId);
      return { result: Buffer.from('"ok"'), durationMs: 1, memoryBytes: 0, coldStart: false };
    },
  } as unknown as PluggedSandbox;
  server.attach({
    get: (namespace: string, name: string) =>
      namespace === 'ns' && name === 'alive' ? sandbox : undefined,
  } as unknown as SandboxManager);
  live = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  dead = await deadAddress();
  unanswered = await synBlackHole();
  channels = new SidecarChannels(token, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
});

afterAll(async () => {
  channels?.closeAll();
  await unanswered?.close();
  await server?.close(100);
});

type Address = { sandbox: string; address: string };

function endpointsObject(...endpoints: Address[]): SandboxEndpoints {
  return {
    status: { endpoints: endpoints.map((e) => ({ ...e, ready: true })) },
  } as SandboxEndpoints;
}

function entryWith(...endpoints: Address[]): FunctionEntry {
  const entry = new FunctionEntry('ns', 'fn');
  entry.setEndpoints(endpointsObject(...endpoints));
  return entry;
}

const activator = new Activator({ client: {} as KubeClient, log, waitMs: 5000 });
const invocation = (requestId: string) => ({
  requestId,
  payload: Buffer.from('{}'),
  metadata: {},
  timeoutMs: 5000,
});

test('a connection refused by a dead sidecar is retried on another Sandbox', async () => {
  const invoker = new Invoker(channels, activator);
  const entry = entryWith({ sandbox: 'gone', address: dead }, { sandbox: 'alive', address: live });
  const gone = entry.endpoints.find((e) => e.sandbox === 'gone')!;
  // Two random choices over two endpoints: enough tries that the dead one is picked first some times.
  let refused = 0;
  for (let i = 0; i < 12; i++) {
    for (const endpoint of entry.endpoints) endpoint.suspectUntil = 0;
    const response = await invoker.invoke(entry, invocation(`retry-${i}`));
    expect(response.result.toString()).toBe('"ok"');
    if (gone.suspectUntil > 0) refused++;
  }
  expect(refused).toBeGreaterThan(0);
  expect(invoked.filter((id) => id.startsWith('retry-'))).toHaveLength(12);
});

test('a function whose only Sandbox refuses is held until its replacement is ready', async () => {
  const invoker = new Invoker(channels, activator);
  const entry = entryWith({ sandbox: 'gone', address: dead });
  const started = performance.now();
  const answer = invoker.invoke(entry, invocation('held'));
  // The replacement becomes ready later, as after a host is lost.
  setTimeout(() => entry.setEndpoints(endpointsObject({ sandbox: 'alive', address: live })), 700);
  const response = await answer;
  expect(response.result.toString()).toBe('"ok"');
  expect(performance.now() - started).toBeGreaterThanOrEqual(650);
  expect(invoked).toContain('held');
});

test('a request whose first choice never connects is answered by another Sandbox after the connect timeout, and the next goes there at once', async () => {
  const invoker = new Invoker(channels, activator);
  const entry = entryWith(
    { sandbox: 'drained', address: unanswered.address },
    { sandbox: 'alive', address: live },
  );
  const drained = entry.endpoints.find((e) => e.sandbox === 'drained')!;
  const alive = entry.endpoints.find((e) => e.sandbox === 'alive')!;
  // Of two choices the one with fewer in flight is taken: the drained one, first.
  alive.inFlight = 1;
  try {
    const started = performance.now();
    const response = await invoker.invoke(entry, invocation('drained-first'));
    const elapsed = performance.now() - started;
    expect(response.result.toString()).toBe('"ok"');
    expect(invoked).toContain('drained-first');
    // It waited for the connect timeout, not for SYN retransmits (1 s, 3 s, ...).
    expect(elapsed).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(1000);
    // Left aside for a while (the invoker's SUSPECT_MS): the next request does not wait on it.
    expect(drained.suspectUntil).toBeGreaterThan(performance.now());
    const next = performance.now();
    await invoker.invoke(entry, invocation('drained-aside'));
    expect(performance.now() - next).toBeLessThan(CONNECT_TIMEOUT_MS);
    expect(invoked).toContain('drained-aside');
  } finally {
    alive.inFlight = 0;
  }
});
