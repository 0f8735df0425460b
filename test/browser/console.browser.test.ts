// The console in a real browser (Debian's Chromium, driven by playwright-core)
// against a running Roost: what a platform team sees, view by view, updating
// live; a screenshot of each view is saved in test-results/console/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminClient, createNamespace, eventually } from '../support/cluster.ts';
import { startRoostSystem, type RoostSystem } from '../support/roost-system.ts';
import { greeter, startConsoleProcess, type ConsoleProcess } from '../support/console.ts';
import { chromiumPath } from '../../testenv/browser.ts';
import { SandboxDeployments, SandboxRoutes } from '../../kube/api/resources.ts';

const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'console');
const client = adminClient();
let system: RoostSystem;
let namespace: string;
let consoleProcess: ConsoleProcess;
let browser: Browser;
let page: Page;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  namespace = await createNamespace(client, 'browser');
  system = await startRoostSystem({
    namespace,
    hosts: [
      { name: 'host-1', memoryMiB: 1024 },
      { name: 'host-2', memoryMiB: 1024 },
      { name: 'host-3', memoryMiB: 512 },
    ],
  });
  await client.create(
    SandboxDeployments,
    greeter({ namespace, name: 'orders', replicas: 2, memoryMiB: 128 }),
  );
  await client.create(
    SandboxDeployments,
    greeter({ namespace, name: 'thumbnails', replicas: 3, memoryMiB: 96 }),
  );
  await client.create(
    SandboxDeployments,
    greeter({ namespace, name: 'reports', replicas: 1, memoryMiB: 256 }),
  );
  consoleProcess = await startConsoleProcess({ namespace, token: system.hosts.token });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await consoleProcess?.stop();
  await system?.stop();
  client.close();
});

test('a page without a login gets no data: it asks for a login link or a token', async () => {
  const responses: string[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/')) responses.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(consoleProcess.url);
  await expect
    .poll(() => page.getByRole('heading', { name: 'Roost console' }).isVisible())
    .toBe(true);
  await expect
    .poll(() => page.getByLabel('Or log in with a Kubernetes bearer token').isVisible())
    .toBe(true);
  expect(await page.content()).not.toContain(`${namespace}-host-1`);
  expect(responses).toEqual(['401 /api/session']);
  await shot('login');
  page.removeAllListeners('response');
});

test('the packing view shows the host pods and the functions packed in them, and follows deploy, scale and delete', async () => {
  await page.goto(consoleProcess.loginLink());
  await page.waitForURL(`${consoleProcess.url}/`);
  const hosts = page.locator('article.host');
  await expect.poll(() => hosts.count()).toBe(3);
  const blocks = (name: string) =>
    page.locator(`li.sandbox[data-sandbox^="${namespace}/${name}-"]`);
  const running = (name: string) =>
    page.locator(`li.sandbox.running[data-sandbox^="${namespace}/${name}-"]`);
  await expect.poll(() => running('orders').count(), { timeout: 20_000 }).toBe(2);
  await expect.poll(() => running('thumbnails').count(), { timeout: 20_000 }).toBe(3);
  await expect.poll(() => running('reports').count(), { timeout: 20_000 }).toBe(1);
  await shot('packing');

  await client.create(SandboxDeployments, greeter({ namespace, name: 'checkout', replicas: 1 }));
  await expect.poll(() => running('checkout').count(), { timeout: 20_000 }).toBe(1);
  await client.patch(
    SandboxDeployments,
    { namespace, name: 'checkout' },
    { spec: { replicas: 3 } },
    { subresource: 'scale' },
  );
  await expect.poll(() => blocks('checkout').count(), { timeout: 20_000 }).toBe(3);
  await client.delete(SandboxDeployments, { namespace, name: 'checkout' });
  await expect.poll(() => blocks('checkout').count(), { timeout: 20_000 }).toBe(0);
});

test('the functions view shows an invocation within seconds', async () => {
  await page.getByRole('link', { name: 'Functions', exact: true }).click();
  const row = page.locator(`tr[data-function="${namespace}/orders"]`);
  await expect.poll(() => row.locator('td.replicas').textContent()).toBe('2 / 2');
  expect(await row.locator('td.last-invocation').textContent()).toBe('never');
  const response = await fetch(system.functionUrl('orders', '?name=table'));
  expect(await response.text()).toBe('hello table');
  const seen = Date.now();
  await expect
    .poll(() => row.locator('td.last-invocation').textContent(), { timeout: 10_000 })
    .toMatch(/s ago/);
  // Seen within a few scrapes of the console (1 s in this test).
  expect(Date.now() - seen).toBeLessThan(8000);
  for (let i = 0; i < 20; i++) await (await fetch(system.functionUrl('thumbnails'))).arrayBuffer();
  await shot('functions');
});

test('the invoke box returns the answer and that invocation’s log lines', async () => {
  await page.locator(`a[href="#/functions/${namespace}/orders"]`).click();
  await expect
    .poll(() => page.getByRole('heading', { name: `${namespace}/orders` }).isVisible())
    .toBe(true);
  await page.getByLabel('Method').selectOption('GET');
  await page.getByLabel('Path and query').fill('?name=browser');
  await page.getByRole('button', { name: 'Invoke' }).click();
  const result = page.locator('.invoke .result');
  await expect.poll(() => result.locator('.status').textContent(), { timeout: 15_000 }).toBe('200');
  expect(await result.locator('pre.response').textContent()).toBe('hello browser');
  const requestId = (await result.locator('code.request-id').textContent())!;
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(await result.locator('pre.invocation-logs').textContent()).toContain(
    `handled ${requestId}`,
  );
  await page.waitForTimeout(1500);
  await shot('function');
});

test('the log view merges every line of a function and filters by request id', async () => {
  const ids: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    const response = await fetch(system.functionUrl('orders', `?name=${name}`));
    await response.arrayBuffer();
    ids.push(response.headers.get('x-roost-request-id')!);
  }
  await page.goto(`${consoleProcess.url}/#/logs/${namespace}/orders`);
  const rows = page.locator('table.logs tbody tr');
  await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
  // Live: a line written now streams in without a reload, within a few seconds.
  await page.waitForTimeout(500);
  const live = await fetch(system.functionUrl('orders', '?name=streamed'));
  await live.arrayBuffer();
  await expect
    .poll(async () => (await rows.allTextContents()).join('\n'), { timeout: 5000 })
    .toContain(live.headers.get('x-roost-request-id')!);
  await shot('logs');
  await page.getByLabel('Request id').fill(ids[1]!);
  await expect
    .poll(async () => (await rows.allTextContents()).join('\n'), { timeout: 10_000 })
    .toContain(ids[1]!);
  await eventually(async () => {
    const texts = await rows.allTextContents();
    return (
      texts.length > 0 &&
      texts.every((t) => t.includes(ids[1]!)) &&
      !texts.some((t) => t.includes(ids[0]!))
    );
  });
});

test('the hosts view shows the controller leader, the gateway and every sidecar with its Lease age', async () => {
  await page.getByRole('link', { name: 'Hosts and components' }).click();
  await expect
    .poll(() => page.getByText(`Leader: controller-${namespace}`).isVisible(), { timeout: 10_000 })
    .toBe(true);
  const sidecars = page.locator('table').nth(1).locator('tbody tr');
  await expect.poll(() => sidecars.count()).toBe(3);
  await shot('hosts');
});

test("a function's page draws its route's split, and follows the route as it changes", async () => {
  await client.create(SandboxRoutes, {
    metadata: { namespace, name: 'reports' },
    spec: { deployment: 'reports', targets: [{ revision: 1, percent: 100 }] },
  });
  await page.goto(`${consoleProcess.url}/#/functions/${namespace}/reports`);
  const route = page.locator('li[data-extra="SandboxRoute/reports"]');
  await expect
    .poll(() => route.locator('.summary').textContent(), { timeout: 15_000 })
    .toBe('default route · traffic 1=100');
  expect(await route.locator('.split-segment').count()).toBe(1);

  // Revision 2 of reports, then 70/30 between the two.
  await client.patch(
    SandboxDeployments,
    { namespace, name: 'reports' },
    { spec: { template: { spec: { function: { env: [{ name: 'VERSION', value: '2' }] } } } } },
  );
  await eventually(
    async () =>
      (await client.get(SandboxDeployments, { namespace, name: 'reports' })).status?.revision === 2,
    { what: 'revision 2 of reports' },
  );
  await client.patch(
    SandboxRoutes,
    { namespace, name: 'reports' },
    {
      spec: {
        targets: [
          { revision: 1, percent: 70 },
          { latestRevision: true, percent: 30, tag: 'next' },
        ],
      },
    },
  );
  await expect
    .poll(() => route.locator('.summary').textContent(), { timeout: 15_000 })
    .toBe('default route · traffic 1=70,2=30(next)');
  const segments = route.locator('.split-segment');
  expect(await segments.count()).toBe(2);
  expect(await segments.nth(0).textContent()).toBe('r1 70%');
  expect(await segments.nth(1).getAttribute('title')).toMatch(/^revision 2: 30% \(tag next\)/);
  await shot('function-route');

  // Changed from the page, as its user may: 50/50.
  const form = page.getByRole('form', { name: 'Traffic of reports' });
  await form.getByLabel('revision 1').fill('50');
  await form.getByLabel('latest (next)').fill('50');
  await form.getByRole('button', { name: 'Set split' }).click();
  await expect
    .poll(() => route.locator('.summary').textContent(), { timeout: 15_000 })
    .toBe('default route · traffic 1=50,2=50(next)');
  // A split that does not add up is refused with the API server's reason.
  await form.getByLabel('revision 1').fill('60');
  await form.getByRole('button', { name: 'Set split' }).click();
  await expect
    .poll(() => form.getByRole('status').textContent(), { timeout: 10_000 })
    .toMatch(/add up to 100/);
});
