// The fault suite, Roost's own processes killed under load:
//
//   - the gateway SIGKILLed while clients call through it and events it took
//     are queued: run as roost dev runs it (cli/dev/component-process.ts, the
//     same supervisor and fixed port), it is restarted; clients see
//     connection errors only until it is back, never an HTTP error; every
//     queued event still runs; nothing else restarts.
//   - the JVM bridge of a host pod SIGKILLed while Java and Node functions on
//     that host are called through the gateway: only Java calls fail, and
//     only until the sidecar has loaded the Java Sandboxes into a new bridge;
//     the Node function on the same host never notices.
//
//   - abusive clients at the gateway's defaults: thousands of idle keep-alive
//     connections, a slowloris crowd sending a header byte a second, and
//     malformed HTTP (garbage request lines, oversized and too many headers,
//     smuggling attempts, bad framing), all at once, while a real client
//     keeps calling through the same gateway. The real client sees no
//     failure; every malformed request gets a 4xx or is closed, never a 5xx;
//     the gateway stays within its memory and is still serving afterwards.
//
// One host pod offering nodejs and java holds every function. Its own
// control plane, as the other fault files.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ComponentProcess } from '../../cli/dev/component-process.ts';
import { Namespaces, SandboxDeployments, Sandboxes } from '../../kube/api/resources.ts';
import type { KubeClient } from '../../kube/client.ts';
import { sleep } from '../../lib/duration.ts';
import { freePort } from '../../lib/ports.ts';
import { startControlPlane, type ControlPlane } from '../../testenv/control-plane.ts';
import { eventually } from '../support/cluster.ts';
import { deployNodeFunction } from '../support/deployments.ts';
import { startEventSink, type EventSink } from '../support/event-sink.ts';
import { requireBuiltJava } from '../support/java-bridge.ts';
import { createJarConfigMap } from '../support/java-sandboxes.ts';
import { descendants } from '../support/processes.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { idleKeepAlive, malformedRequests, slowloris } from './support/abusive-clients.ts';
import { report, SteadyLoad } from './support/load.ts';
import { rawExchange } from '../support/raw-http.ts';

requireBuiltJava();

const namespace = 'faults-components';
const HOST = 'both';
/** Short, so that a dead gateway's events move on to the other within the test. */
const ACK_WAIT = '--events-ack-wait=2s';
const EVENTS = 100;
const IDLE = 3000;
const SLOWLORIS = 200;
/** Resident memory the gateway may reach under all the abusive clients (it starts under 200 MiB). */
const RSS_BOUND_MIB = 512;

let controlPlane: ControlPlane;
let client: KubeClient;
let system: RoostSystem;
let sink: EventSink;
let logDir: string;
const loads: SteadyLoad[] = [];
/** The abusive clients' connections, closed at the end whatever happens. */
const sockets: Socket[] = [];

beforeAll(async () => {
  controlPlane = await startControlPlane();
  client = controlPlane.client();
  await client.create(Namespaces, { metadata: { name: namespace } });
  sink = await startEventSink();
  logDir = mkdtempSync(join(tmpdir(), 'roost-faults-'));
  system = await startRoostSystem({
    namespace,
    kubeconfig: controlPlane.kubeconfigPath,
    hosts: [{ name: HOST, runtimes: ['nodejs', 'java'], memoryMiB: 4096 }],
    gatewayArgs: [ACK_WAIT],
  });
  await deployNodeFunction(client, {
    namespace,
    name: 'hello',
    replicas: 2,
    source: `export const handler = async () => 'hello';`,
  });
  await deployNodeFunction(client, {
    namespace,
    name: 'slow',
    replicas: 2,
    env: { SINK: sink.url },
    source: `export const handler = async (event, context) => {
      await new Promise((r) => setTimeout(r, 200));
      await fetch(process.env.SINK + '/slow', { method: 'POST', body: JSON.stringify({ n: event.n, requestId: context.awsRequestId }) });
      return 'done';
    };`,
  });
  const code = await createJarConfigMap(client, namespace, 'hello-jar', 'hello');
  await client.create(SandboxDeployments, {
    metadata: { name: 'greeter', namespace },
    spec: {
      replicas: 1,
      template: {
        spec: {
          function: { runtime: 'java', handler: 'com.example.Hello', code, timeoutSeconds: 10 },
        },
      },
    },
  });
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'greeter' })).status
        ?.readyReplicas === 1,
    { what: 'the Java function to be ready', timeoutMs: 60_000 },
  );
}, 240_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const load of loads) await load.stop();
  await system?.stop();
  await sink?.stop();
  client?.close();
  await controlPlane?.stop();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

function steadyLoad(url: string, intervalMs = 100): SteadyLoad {
  const load = new SteadyLoad(url, intervalMs);
  loads.push(load);
  return load;
}

const distinct = (key: string) =>
  new Set(sink.of(key).map((r) => (JSON.parse(r.body) as { n: number }).n)).size;

test('the gateway SIGKILLed under load: restarted by its supervisor, clients see only connection errors until then, no queued event lost', async () => {
  const port = await freePort();
  const said: string[] = [];
  const gateway = new ComponentProcess({
    name: 'roost gateway',
    args: [
      'gateway',
      '--host=127.0.0.1',
      `--port=${port}`,
      `--kubeconfig=${controlPlane.kubeconfigPath}`,
      `--namespace=${namespace}`,
      `--events-url=${system.nats.url}`,
      ACK_WAIT,
    ],
    env: { ROOST_INVOKE_TOKEN: system.hosts.token, ROOST_LOG_LEVEL: 'warn' },
    logFile: join(logDir, 'gateway.log'),
    ready: /roost gateway ready on (\S+)/,
    onRestart: (message) => said.push(message),
  });
  const url = await gateway.start();
  try {
    for (let n = 0; n < EVENTS; n++) {
      // The Invoke API, so that the event the function gets is this body.
      const queued = await fetch(
        `${url}/2015-03-31/functions/${namespace}:function:slow/invocations`,
        {
          method: 'POST',
          headers: { 'x-amz-invocation-type': 'Event' },
          body: JSON.stringify({ n }),
        },
      );
      expect(queued.status).toBe(202);
    }
    const sidecarPid = system.hosts.kubelet.get(namespace, `${namespace}-${HOST}`)!.process.pid;
    const load = steadyLoad(`${url}/fn/${namespace}/hello`);
    await eventually(() => sink.of('slow').length >= 10, { what: 'the first events to run' });
    await sleep(500);

    const pid = gateway.pid!;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const backAt = await eventually(
      async () => {
        if (gateway.restarts < 1 || gateway.pid === pid) return undefined;
        const answer = await fetch(`${url}/fn/${namespace}/hello`).catch(() => undefined);
        return answer?.status === 200 ? Date.now() : undefined;
      },
      { what: 'the gateway to be restarted and answer', timeoutMs: 30_000, intervalMs: 50 },
    );
    await eventually(() => distinct('slow') === EVENTS, {
      what: `all ${EVENTS} queued events to run`,
      timeoutMs: 60_000,
      intervalMs: 250,
    }).catch((err: Error) => {
      const log = readFileSync(join(logDir, 'gateway.log'), 'utf8').split('\n').slice(-30);
      throw new Error(
        `${err.message}: ${distinct('slow')} of ${EVENTS} ran; the gateway's log ends:\n${log.join('\n')}`,
      );
    });
    await sleep(2000);
    await load.stop();

    const { sent, failed } = load.since(killedAt - 500);
    const httpErrors = failed.filter((o) => o.status !== 0);
    const afterBack = failed.filter((o) => o.sentAt > backAt + 500);
    report({
      fault: `gateway SIGKILL (supervised as roost dev runs it), ${EVENTS} events queued through it`,
      load: '10 invocations/s through that gateway; the events running (200 ms each)',
      sent,
      failed: failed.length,
      recoveredInMs: backAt - killedAt,
      note: `expected to fail: requests in flight on the killed gateway and sent while it was down, as connection errors (${[...new Set(failed.map((o) => o.error))].join(', ') || 'none'}); all ${EVENTS} events ran (${sink.of('slow').length - EVENTS} twice: at least once); the supervisor said: ${said.join(' / ')}`,
    });
    expect(httpErrors.map((o) => `${o.status} ${o.error}`)).toEqual([]);
    expect(afterBack.map((o) => `${o.sentAt - killedAt} ms after the kill: ${o.error}`)).toEqual(
      [],
    );
    expect(gateway.restarts).toBe(1);
    expect(said.some((line) => /roost gateway restarted/.test(line))).toBe(true);
    // Nothing else restarted: the other gateway, the sidecar.
    expect(system.gateway.process.exit).toBeUndefined();
    expect(system.hosts.kubelet.get(namespace, `${namespace}-${HOST}`)!.process.pid).toBe(
      sidecarPid,
    );
  } finally {
    await gateway.stop();
  }
});

test('the JVM bridge SIGKILLed under load: only Java calls fail until its Sandboxes are loaded again; Node on the same host never notices', async () => {
  const sidecar = system.hosts.kubelet.get(namespace, `${namespace}-${HOST}`)!;
  const bridgePid = () =>
    descendants(sidecar.process.pid!).find((p) => p.command.includes('roost-java-bridge.jar'))?.pid;
  const before = bridgePid();
  expect(before, 'the sidecar runs a JVM bridge').toBeDefined();
  const [greeter] = (
    await client.list(Sandboxes, { namespace, labelSelector: 'roost.dev/deployment=greeter' })
  ).items;
  const java = steadyLoad(system.functionUrl('greeter'));
  const node = steadyLoad(system.functionUrl('hello'));
  await sleep(1000);

  const killedAt = Date.now();
  process.kill(before!, 'SIGKILL');
  const reloadedAt = await eventually(
    async () => {
      const sandbox = await client.get(Sandboxes, { namespace, name: greeter!.metadata.name! });
      const ready = sandbox.status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
      return sandbox.status?.restartCount === 1 && ready ? Date.now() : undefined;
    },
    { what: 'the Java Sandbox to be loaded into a new bridge', timeoutMs: 60_000 },
  );
  await sleep(3000);
  await java.stop();
  await node.stop();

  const javaOutcome = java.since(killedAt - 500);
  const nodeOutcome = node.since(killedAt - 500);
  const lateJava = javaOutcome.failed.filter((o) => o.sentAt > reloadedAt + 1000);
  report({
    fault: 'JVM bridge SIGKILL, its host pod running a Java and two Node functions',
    load: '10 invocations/s of the Java function and 10/s of a Node function on the same host, through the gateway',
    sent: javaOutcome.sent + nodeOutcome.sent,
    failed: javaOutcome.failed.length + nodeOutcome.failed.length,
    recoveredInMs: reloadedAt - killedAt,
    note: `expected to fail: Java calls in flight or sent before the Sandbox was loaded again (${javaOutcome.failed.length} of ${javaOutcome.sent}: ${[...new Set(javaOutcome.failed.map((o) => o.error?.slice(0, 160)))].join(', ') || 'none'}); Node calls ${nodeOutcome.failed.length} of ${nodeOutcome.sent}`,
  });
  expect(nodeOutcome.failed.map((o) => `${o.status} ${o.error}`)).toEqual([]);
  expect(lateJava.map((o) => `${o.sentAt - killedAt} ms after the kill: ${o.error}`)).toEqual([]);
  expect(bridgePid()).not.toBe(before);
});

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

test(`${IDLE} idle keep-alive connections, ${SLOWLORIS} slowloris clients and malformed HTTP at once: real traffic never fails`, async () => {
  const url = new URL(system.gateway.url);
  const gatewayPid = system.gateway.process.pid!;
  const rssBefore = rssMiB(gatewayPid);
  const load = steadyLoad(system.functionUrl('hello'));
  await sleep(1000);
  const startedAt = Date.now();

  for (let opened = 0; opened < IDLE; opened += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => idleKeepAlive(url)));
    sockets.push(...batch);
  }
  for (let i = 0; i < SLOWLORIS; i++) sockets.push(slowloris(url, `/fn/${namespace}/hello`));
  const malformed = await Promise.all(
    Object.entries(malformedRequests(`/fn/${namespace}/hello`)).flatMap(([what, chunks]) =>
      // Twenty of each, all at once.
      Array.from({ length: 20 }, async () => {
        const outcome = await rawExchange(system.gateway.url, chunks, {
          capMs: 15_000,
          untilResponse: true,
        });
        return { what, statusLine: outcome.statusLine, closed: outcome.closedByServer };
      }),
    ),
  );
  let rssPeak = rssMiB(gatewayPid);
  // The slowloris crowd keeps sending past the 10 s header timeout.
  for (let i = 0; i < 12; i++) {
    await sleep(1000);
    rssPeak = Math.max(rssPeak, rssMiB(gatewayPid));
  }
  const idleStillOpen = sockets.slice(0, IDLE).filter((s) => !s.destroyed).length;
  const slowlorisClosed = sockets.slice(IDLE).filter((s) => s.destroyed).length;
  await load.stop();

  const { sent, failed } = load.since(startedAt);
  const answers = new Map<string, number>();
  for (const m of malformed) {
    const key = `${m.what}: ${m.statusLine ?? (m.closed ? 'closed' : 'no answer')}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  report({
    fault: `${IDLE} idle keep-alive connections, ${SLOWLORIS} slowloris clients, ${malformed.length} malformed requests, at once`,
    load: '10 invocations/s of a function through the same gateway',
    sent,
    failed: failed.length,
    recoveredInMs: undefined,
    note: `nothing expected to fail. ${idleStillOpen} idle connections still open (keep-alive timeout 65 s), ${slowlorisClosed} of ${SLOWLORIS} slowloris connections closed at the 10 s header timeout; gateway RSS ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB at most; malformed answered: ${[...answers.keys()].map((k) => k.replace(/\s*:\s*HTTP\/1\.1/, ':')).join('; ')}`,
  });
  expect(failed.map((o) => `${o.sentAt - startedAt} ms: ${o.status} ${o.error}`)).toEqual([]);
  for (const m of malformed) {
    const status = Number(m.statusLine?.split(' ')[1] ?? 0);
    const refused = (status >= 400 && status < 500) || (!m.statusLine && m.closed);
    expect(refused, `${m.what}: ${m.statusLine ?? 'no answer'}`).toBe(true);
  }
  expect(slowlorisClosed).toBe(SLOWLORIS);
  expect(rssPeak).toBeLessThan(RSS_BOUND_MIB);
  // Still serving, and it lets go of the crowd.
  for (const socket of sockets) socket.destroy();
  sockets.length = 0;
  const after = await fetch(system.functionUrl('hello'));
  expect(after.status).toBe(200);
  expect(system.gateway.process.exit).toBeUndefined();
});
