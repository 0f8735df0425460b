// A hostile function writes garbage to its channel to the sidecar: bytes that
// are no message at all (the channel's descriptor is open in its process),
// or messages of the wrong shape. Each time that one function's process is
// killed and its invocation fails as a crash naming the breach; the function
// restarts; the sidecar and a neighbour Sandbox on it never notice.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Sandboxes } from '../kube/api/resources.ts';
import type { SandboxHostConnection } from '../sidecar/client.ts';
import type { HostPod } from '../testenv/host-pods.ts';
import { adminClient, createNamespace } from './support/cluster.ts';
import { startTestHosts, type TestHosts } from './support/host-pods.ts';
import { keepInvoking } from './support/neighbours.ts';
import { inlineSandbox, json, parse, waitForStatus, waitUntilReady } from './support/sandboxes.ts';

const client = adminClient();
let namespace: string;
let hosts: TestHosts;
let host: HostPod;
let sidecar: SandboxHostConnection;

beforeAll(async () => {
  namespace = await createNamespace(client, 'hostile');
  hosts = await startTestHosts(namespace);
  host = await hosts.add({ name: 'host-hostile' });
  sidecar = hosts.connect(host.address);
  await client.create(
    Sandboxes,
    inlineSandbox(
      namespace,
      'neighbour',
      host.name,
      `export const handler = async (e) => ({ echo: e.n });`,
    ),
  );
  await waitUntilReady(client, namespace, 'neighbour');
});

afterAll(async () => {
  await hosts?.stop();
});

const invoke = (sandbox: string, event: unknown = {}) =>
  sidecar.invoke({
    namespace,
    sandbox,
    requestId: `${sandbox}-${Date.now()}`,
    payload: json(event),
  });

/** What each hostile function does when asked; otherwise it answers 'alive'. */
const HOSTILE = [
  {
    name: 'garbage-bytes',
    what: 'bytes on fd 3 that do not deserialize',
    act: `const b = Buffer.alloc(64, 0xff); b.writeUInt32BE(20, 0); (await import('node:fs')).writeSync(3, b);`,
    says: 'wrote bytes that are not a message',
  },
  {
    name: 'send-null',
    what: 'process.send(null)',
    act: `process.send(null);`,
    says: 'a message must be an object, not null',
  },
  {
    name: 'forged-result',
    what: 'a reply frame whose id is not a number, on its invocation socket',
    act: `const h = Buffer.from(JSON.stringify({ id: '1', ok: true, hasResult: false, durationMs: 1 })); const f = Buffer.alloc(8 + h.length); f.writeUInt32BE(4 + h.length, 0); f.writeUInt32BE(h.length, 4); h.copy(f, 8); (await import('node:fs')).writeSync(4, f);`,
    says: 'id must be a whole number',
  },
  {
    name: 'result-on-channel',
    what: 'a result message on the control channel, where none belongs',
    act: `process.send({ type: 'result', id: 1, durationMs: 1 });`,
    says: 'type must be a runtime message type',
  },
  {
    name: 'object-log',
    what: 'a log frame whose message is an object',
    act: `const h = Buffer.from(JSON.stringify({ type: 'log', time: Date.now(), level: 'info', requestId: '', message: { deep: { deeper: {} } }, stream: 'console' })); const f = Buffer.alloc(8 + h.length); f.writeUInt32BE(4 + h.length, 0); f.writeUInt32BE(h.length, 4); h.copy(f, 8); (await import('node:fs')).writeSync(4, f);`,
    says: 'message must be a string, not an object',
  },
];

test.each(HOSTILE)(
  'a function sending $what is killed alone and restarted',
  async ({ name, act, says }) => {
    await client.create(
      Sandboxes,
      inlineSandbox(
        namespace,
        name,
        host.name,
        `export const handler = async (e) => { if (e.hostile) { ${act} await new Promise((r) => setTimeout(r, 2000)); } return 'alive'; };`,
      ),
    );
    await waitUntilReady(client, namespace, name);
    const neighbour = keepInvoking(
      sidecar,
      { namespace, sandbox: 'neighbour' },
      (n) => ({ n }),
      (response, n) =>
        response.error !== 'FUNCTION_ERROR_NONE' ||
        parse<{ echo: number }>(response.result).echo !== n
          ? `${response.error} ${response.errorMessage}`
          : undefined,
    );
    const hostile = await invoke(name, { hostile: true });
    expect(hostile.error).toBe('FUNCTION_ERROR_CRASHED');
    expect(hostile.errorMessage).toContain('broke the runtime protocol');
    expect(hostile.errorMessage).toContain(says);
    await waitForStatus(
      client,
      namespace,
      name,
      (s) =>
        s.restartCount === 1 &&
        s.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'),
      'the restart',
    );
    expect(parse((await invoke(name)).result)).toBe('alive');
    const { failures } = await neighbour.stop(30);
    expect(failures).toEqual([]);
    expect(host.process.exit).toBeUndefined();
  },
);
