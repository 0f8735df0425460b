// The console's backend as a browser and a hostile client meet it: nothing
// without a login, one-time links that work once, a live snapshot of the
// packing that follows deploys and deletes, figures from the gateway, the
// invoke action with its log lines, and a Kubernetes user by token who sees
// and may do only what RBAC grants.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, createNamespace, kubectl } from './support/cluster.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';
import {
  greeter,
  logIn,
  startConsoleProcess,
  waitForSnapshot,
  type ConsoleProcess,
} from './support/console.ts';
import { SandboxDeployments, SandboxRoutes } from '../kube/api/resources.ts';
import type { InvokeResult } from '../console/view-types.ts';
import { mintLoginTicket } from '../console/login-tickets.ts';

const client = adminClient();
let system: RoostSystem;
let namespace: string;
let consoleProcess: ConsoleProcess;
let cookie: string;

beforeAll(async () => {
  namespace = await createNamespace(client, 'console');
  system = await startRoostSystem({ namespace, hosts: [{ name: 'host-1' }, { name: 'host-2' }] });
  consoleProcess = await startConsoleProcess({ namespace, token: system.hosts.token });
  cookie = await logIn(consoleProcess.loginLink());
});

afterAll(async () => {
  await consoleProcess?.stop();
  await system?.stop();
  client.close();
});

describe('without a login', () => {
  test('no path under /api/ gives data, and the page itself holds none', async () => {
    for (const path of [
      '/api/stream',
      '/api/session',
      `/api/functions/${namespace}/x`,
      `/api/functions/${namespace}/x/logs`,
    ]) {
      const response = await fetch(`${consoleProcess.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(await response.text()).not.toContain(`${namespace}-host-1`);
    }
    const page = await fetch(consoleProcess.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).not.toContain(namespace);
  });

  test('a forged cookie, a ticket signed with another key, a malformed one and a used one are refused', async () => {
    expect(
      (
        await fetch(`${consoleProcess.url}/api/session`, {
          headers: { cookie: 'roost_console=forged' },
        })
      ).status,
    ).toBe(401);
    const other = await fetch(
      `${consoleProcess.url}/login?ticket=${mintLoginTicket('another-key-of-enough-length')}`,
      { redirect: 'manual' },
    );
    expect(other.status).toBe(401);
    expect(await other.text()).toMatch(/signature is wrong/);
    expect(
      (await fetch(`${consoleProcess.url}/login?ticket=${'x'.repeat(500)}`, { redirect: 'manual' }))
        .status,
    ).toBe(401);
    const link = consoleProcess.loginLink();
    await logIn(link);
    const again = await fetch(link, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toMatch(/used already/);
  });

  test('the session cookie is HttpOnly and SameSite=Strict', async () => {
    const response = await fetch(consoleProcess.loginLink(), { redirect: 'manual' });
    expect(response.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect(response.headers.get('location')).toBe('/');
  });
});

describe('logged in with a link', () => {
  test('the packing shows the host pods, then a deployed function packed into them, scaled, then gone', async () => {
    const first = await waitForSnapshot(consoleProcess.url, cookie, (s) => s.hosts.length === 2);
    expect(first.hosts.map((h) => h.name).sort()).toEqual([
      `${namespace}-host-1`,
      `${namespace}-host-2`,
    ]);
    expect(first.hosts[0]!.capacity.memoryMiB).toBeGreaterThan(0);

    await client.create(SandboxDeployments, greeter({ namespace, name: 'packed', replicas: 2 }));
    const placed = await waitForSnapshot(
      consoleProcess.url,
      cookie,
      (s) =>
        s.hosts
          .flatMap((h) => h.sandboxes)
          .filter((x) => x.deployment === 'packed' && x.state === 'running').length === 2 &&
        s.functions.some((f) => f.name === 'packed' && f.ready === 2),
    );
    expect(placed.functions.find((f) => f.name === 'packed')).toMatchObject({
      desired: 2,
      ready: 2,
      runtime: 'nodejs',
    });
    const used = placed.hosts.reduce((sum, h) => sum + h.used.memoryMiB, 0);
    expect(used).toBeGreaterThanOrEqual(128);

    const scale = await fetch(`${consoleProcess.url}/api/functions/${namespace}/packed/scale`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ replicas: 3 }),
    });
    expect(scale.status).toBe(200);
    await waitForSnapshot(
      consoleProcess.url,
      cookie,
      (s) =>
        s.hosts.flatMap((h) => h.sandboxes).filter((x) => x.deployment === 'packed').length === 3,
    );

    await client.delete(SandboxDeployments, { namespace, name: 'packed' });
    await waitForSnapshot(
      consoleProcess.url,
      cookie,
      (s) =>
        !s.functions.some((f) => f.name === 'packed') &&
        !s.hosts.some((h) => h.sandboxes.some((x) => x.deployment === 'packed')),
    );
  });

  test('a Sandbox that fits nowhere is shown as not placed, with the reason', async () => {
    const big = greeter({ namespace, name: 'too-big', replicas: 1 });
    big.spec.template.spec.function.memoryMiB = 10240;
    await client.create(SandboxDeployments, big);
    const snapshot = await waitForSnapshot(consoleProcess.url, cookie, (s) =>
      s.unplaced.some(
        (x) => x.deployment === 'too-big' && !!x.reason && x.reason !== 'waiting for the scheduler',
      ),
    );
    expect(snapshot.unplaced.find((x) => x.deployment === 'too-big')!.reason).toMatch(/memory/i);
    await client.delete(SandboxDeployments, { namespace, name: 'too-big' });
  });

  test('invoke returns the answer, its request id and its log lines, and the functions view counts it within seconds', async () => {
    await client.create(SandboxDeployments, greeter({ namespace, name: 'greet', replicas: 1 }));
    await waitForSnapshot(consoleProcess.url, cookie, (s) =>
      s.functions.some((f) => f.name === 'greet' && f.ready === 1),
    );
    const response = await fetch(`${consoleProcess.url}/api/functions/${namespace}/greet/invoke`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'http', method: 'GET', path: '?name=console' }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as InvokeResult;
    expect(result.status).toBe(200);
    expect(result.body).toBe('hello console');
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.logs.map((l) => l.message).join('\n')).toContain(`handled ${result.requestId}`);

    const counted = await waitForSnapshot(
      consoleProcess.url,
      cookie,
      (s) => s.functions.some((f) => f.name === 'greet' && f.figures.lastInvocationAt !== null),
      10_000,
    );
    expect(counted.functions.find((f) => f.name === 'greet')!.figures.p50Ms).not.toBeNull();

    const logs = await fetch(
      `${consoleProcess.url}/api/functions/${namespace}/greet/logs?requestId=${result.requestId}`,
      { headers: { cookie } },
    );
    const { lines } = (await logs.json()) as { lines: { requestId: string }[] };
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.requestId === result.requestId)).toBe(true);
  });

  test('the live tail streams each new line of the function as it is written, filtered', async () => {
    const controller = new AbortController();
    const tail = await fetch(
      `${consoleProcess.url}/api/functions/${namespace}/greet/tail?contains=tailed`,
      { headers: { cookie }, signal: controller.signal },
    );
    expect(tail.status).toBe(200);
    expect(tail.headers.get('content-type')).toBe('text/event-stream');
    let received = '';
    const reading = (async () => {
      for await (const chunk of tail.body!.pipeThrough(new TextDecoderStream())) received += chunk;
    })().catch(() => undefined);
    try {
      // The tail joins the sidecars as it opens: ask until the first line arrives.
      const deadline = Date.now() + 15_000;
      while (!/event: line/.test(received) && Date.now() < deadline) {
        await fetch(system.functionUrl('greet', '?tailed=1'));
        await fetch(system.functionUrl('greet', '?other=1'));
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(received).toMatch(/event: line/);
      const line = JSON.parse(/event: line\ndata: (.*)\n/.exec(received)![1]!) as {
        message: string;
        requestId: string;
      };
      expect(line.message).toContain('tailed=1');
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      // Filtered on the sidecars: the other request's line never comes.
      expect(received).not.toContain('other=1');
    } finally {
      controller.abort();
      await reading;
    }
  });

  test("a route's split is changed from the console; a split that does not add up is refused with the API's reason", async () => {
    await client.create(SandboxRoutes, {
      metadata: { name: 'greet-stable', namespace },
      spec: { deployment: 'greet', targets: [{ revision: 1, percent: 100 }] },
    });
    const traffic = (body: unknown, fn = 'greet') =>
      fetch(`${consoleProcess.url}/api/functions/${namespace}/${fn}/traffic`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const set = await traffic({
      route: 'greet-stable',
      targets: [{ latestRevision: true, percent: 100 }],
    });
    expect(set.status).toBe(200);
    expect(
      (await client.get(SandboxRoutes, { namespace, name: 'greet-stable' })).spec.targets,
    ).toEqual([{ latestRevision: true, percent: 100 }]);

    const uneven = await traffic({
      route: 'greet-stable',
      targets: [{ revision: 1, percent: 90 }],
    });
    expect(uneven.status).toBe(422);
    expect(await uneven.json()).toMatchObject({
      code: 'ROOST_CONSOLE_INVALID',
      message: expect.stringMatching(/spec\.targets.*add up to 100/),
    });
    const malformed = await traffic({ route: 'greet-stable', targets: [{ percent: 100 }] });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(
      /targets\[0\] names exactly one of revision and latestRevision/,
    );
    // A route of another function is not this function's to change.
    expect((await traffic({ route: 'greet-stable', targets: [] }, 'other')).status).toBe(404);
  });

  test('malformed requests get a 4xx naming the field, and a request from another origin is refused', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${consoleProcess.url}${path}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body,
      });
    const bad = await post(
      `/api/functions/${namespace}/greet/invoke`,
      JSON.stringify({ mode: 'telnet' }),
    );
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/mode/);
    expect((await post(`/api/functions/${namespace}/greet/invoke`, '{not json')).status).toBe(400);
    // JSON that is not the object a form is, or a field that is not text: 400, never a 500.
    const notObject = await post(`/api/functions/${namespace}/greet/scale`, 'null');
    expect(notObject.status).toBe(400);
    expect(((await notObject.json()) as { message: string }).message).toMatch(/JSON object/);
    const objectField = await post(
      `/api/functions/${namespace}/greet/invoke`,
      JSON.stringify({ mode: 'http', method: { toString: 0 } }),
    );
    expect(objectField.status).toBe(400);
    expect(((await objectField.json()) as { message: string }).message).toMatch(
      /method must be a string/,
    );
    expect(
      (
        await post(
          `/api/functions/${namespace}/greet/invoke`,
          JSON.stringify({ mode: 'http', path: '/../../internal' }),
        )
      ).status,
    ).toBe(400);
    expect(
      (await post(`/api/functions/${namespace}/greet/scale`, JSON.stringify({ replicas: -1 })))
        .status,
    ).toBe(400);
    expect(
      (
        await post(`/api/functions/${namespace}/greet/scale`, JSON.stringify({ replicas: 1 }), {
          'content-type': 'text/plain',
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await post(`/api/functions/${namespace}/greet/scale`, JSON.stringify({ replicas: 1 }), {
          origin: 'https://evil.example',
        })
      ).status,
    ).toBe(403);
    expect(
      (await post(`/api/functions/${namespace}/nope/scale`, JSON.stringify({ replicas: 1 })))
        .status,
    ).toBe(404);
    expect(
      (await post(`/api/functions/${namespace}/greet/scale`, 'x'.repeat(100_000))).status,
    ).toBe(413);
  });
});

describe('logged in with a Kubernetes token', () => {
  test('a user sees only namespaces RBAC lets them list, and may not invoke or scale without the rights', async () => {
    const sa = 'console-viewer';
    expect((await kubectl(['create', 'serviceaccount', sa, '-n', namespace])).code).toBe(0);
    expect(
      (
        await kubectl([
          'create',
          'role',
          'view-functions',
          '-n',
          namespace,
          '--verb=list,get,watch',
          '--resource=sandboxdeployments.roost.dev',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await kubectl([
          'create',
          'rolebinding',
          'view-functions',
          '-n',
          namespace,
          '--role=view-functions',
          `--serviceaccount=${namespace}:${sa}`,
        ])
      ).code,
    ).toBe(0);
    const token = (await kubectl(['create', 'token', sa, '-n', namespace])).stdout.trim();

    const refused = await fetch(`${consoleProcess.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'not-a-token' }),
    });
    expect(refused.status).toBe(401);

    const login = await fetch(`${consoleProcess.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { viewer: string }).viewer).toBe(
      `system:serviceaccount:${namespace}:${sa}`,
    );
    const userCookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const seen = await waitForSnapshot(consoleProcess.url, userCookie, (s) =>
      s.functions.some((f) => f.name === 'greet'),
    );
    expect(seen.namespaces).toEqual([namespace]);

    const invoke = await fetch(`${consoleProcess.url}/api/functions/${namespace}/greet/invoke`, {
      method: 'POST',
      headers: { cookie: userCookie, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'http' }),
    });
    expect(invoke.status).toBe(403);
    const scale = await fetch(`${consoleProcess.url}/api/functions/${namespace}/greet/scale`, {
      method: 'POST',
      headers: { cookie: userCookie, 'content-type': 'application/json' },
      body: JSON.stringify({ replicas: 0 }),
    });
    expect(scale.status).toBe(403);
    const traffic = await fetch(`${consoleProcess.url}/api/functions/${namespace}/greet/traffic`, {
      method: 'POST',
      headers: { cookie: userCookie, 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'greet-stable', targets: [{ revision: 1, percent: 100 }] }),
    });
    expect(traffic.status).toBe(403);
    expect(await traffic.text()).toMatch(/change routes/);

    // Another service account with no rights at all sees no function and no Sandbox.
    expect((await kubectl(['create', 'serviceaccount', 'nobody', '-n', namespace])).code).toBe(0);
    const nobody = (await kubectl(['create', 'token', 'nobody', '-n', namespace])).stdout.trim();
    const nobodyLogin = await fetch(`${consoleProcess.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: nobody }),
    });
    const nobodyCookie = nobodyLogin.headers.get('set-cookie')!.split(';')[0]!;
    const empty = await waitForSnapshot(consoleProcess.url, nobodyCookie, () => true);
    expect(empty.functions).toEqual([]);
    expect(empty.hosts.flatMap((h) => h.sandboxes)).toEqual([]);
    expect(empty.hosts.reduce((n, h) => n + h.hidden.count, 0)).toBeGreaterThan(0);
    expect(
      (
        await fetch(`${consoleProcess.url}/api/functions/${namespace}/greet`, {
          headers: { cookie: nobodyCookie },
        })
      ).status,
    ).toBe(403);
  });
});

// Last: it leaves this test's client unable to log in for a while.
describe('a client guessing tokens', () => {
  test('is told to wait after a few failures, with Retry-After, and even a good link waits', async () => {
    let limited: Response | undefined;
    for (let attempt = 0; attempt < 11 && !limited; attempt++) {
      const response = await fetch(`${consoleProcess.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: `guess-${attempt}` }),
      });
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(401);
    }
    expect(limited, 'no 429 after 11 failed logins').toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited!.json()).toMatchObject({ code: 'ROOST_CONSOLE_LOGIN_LIMITED' });
    const link = await fetch(consoleProcess.loginLink(), { redirect: 'manual' });
    expect(link.status).toBe(429);
  });
});
