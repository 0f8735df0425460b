// End to end: a function's revisions as `roost rollout history` lists them,
// and `roost rollout undo` taking it back through the controller, checked by
// what the function answers; and `roost deploy` cleaning up code that no
// revision uses any more.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigMaps, SandboxDeployments } from '../kube/api/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { DEPLOYMENT_LABEL } from '../kube/well-known.ts';
import { adminClient, createNamespace } from './support/cluster.ts';
import { killLeftovers, roost, systemEnv } from './support/roost-cli.ts';
import { startRoostSystem, type RoostSystem } from './support/roost-system.ts';

let client: KubeClient;
let namespace: string;
let system: RoostSystem;
let env: Record<string, string>;
let scratch: string;

const run = (args: string[]) => roost([...args, '-n', namespace], { env });

/** Deploys a function answering {version}, waiting for the rollout. */
async function deployVersion(name: string, version: string) {
  const dir = join(scratch, `${name}-${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.mjs'),
    `export const handler = async () => ({ version: '${version}' });\n`,
  );
  const result = await run(['deploy', dir, '--name', name, '--memory', '64']);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

async function answer(name: string): Promise<string> {
  const result = await run(['invoke', name]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { version: string }).version;
}

interface History {
  revisions: { revision: number; current: boolean; code: string; templateHash: string }[];
}

async function history(name: string): Promise<History['revisions']> {
  const result = await run(['rollout', 'history', name, '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as History).revisions;
}

beforeAll(async () => {
  client = adminClient();
  namespace = await createNamespace(client, 'cli-rollout');
  system = await startRoostSystem({ namespace });
  env = systemEnv(system);
  scratch = mkdtempSync(join(tmpdir(), 'roost-cli-rollout-'));
});

afterAll(async () => {
  killLeftovers();
  await system?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  client?.close();
});

describe('roost rollout', () => {
  beforeAll(async () => {
    await deployVersion('app', 'one');
    await deployVersion('app', 'two');
  });

  test('history lists a revision per deployed template, the current one marked', async () => {
    const table = await run(['rollout', 'history', 'app']);
    const [header, first, second] = table.stdout.trim().split('\n');
    expect(header).toMatch(
      /^REVISION\s+CURRENT\s+TEMPLATE-HASH\s+RUNTIME\s+HANDLER\s+CODE\s+SANDBOXES\s+CREATED$/,
    );
    expect(first).toMatch(
      /^1\s+[0-9a-f]{10}\s+nodejs\s+index\.handler\s+configMap app-code-[0-9a-f]{10}\s+0\s+/,
    );
    expect(second).toMatch(
      /^2\s+\*\s+[0-9a-f]{10}\s+nodejs\s+index\.handler\s+configMap app-code-[0-9a-f]{10}\s+1\s+/,
    );
    expect(await answer('app')).toBe('two');
  });

  test('undo returns to the previous revision: the function answers as before, as the newest revision', async () => {
    const before = await history('app');
    const undone = await run(['rollout', 'undo', 'app']);
    expect(undone.stderr).toContain('Asked the controller to roll app back to revision 1');
    expect(undone.stdout).toContain(
      `${namespace}/app: rolled back to the template of revision 1; app rolled out: 1 of 1 Sandboxes available (now revision 3)`,
    );
    expect(undone.code).toBe(0);
    expect(await answer('app')).toBe('one');
    const after = await history('app');
    // Revision 1's template is now revision 3, on the same ReplicaSet, as kubectl does it.
    expect(after.map((r) => [r.revision, r.current])).toEqual([
      [2, false],
      [3, true],
    ]);
    expect(after[1]!.templateHash).toBe(before[0]!.templateHash);
  });

  test('undo --to-revision goes to that revision', async () => {
    const undone = await run(['rollout', 'undo', 'app', '--to-revision', '2', '-o', 'json']);
    expect(undone.code, undone.stderr).toBe(0);
    expect(JSON.parse(undone.stdout)).toEqual({
      namespace,
      name: 'app',
      to: 2,
      revision: 4,
      rolledBack: true,
      message: expect.stringContaining('rolled back to the template of revision 2') as string,
    });
    expect(await answer('app')).toBe('two');
  });

  test('undo to the current template does nothing and says so', async () => {
    const result = await run(['rollout', 'undo', 'app', '--to-revision', '4']);
    expect(result.stdout).toContain('already at the template of revision 4; nothing to do');
    expect(result.code).toBe(0);
  });

  test('a deploy after a rollback declares the function again', async () => {
    await deployVersion('app', 'three');
    expect(await answer('app')).toBe('three');
    const revisions = await history('app');
    expect(revisions.at(-1)).toMatchObject({ revision: 5, current: true });
    // Every revision a rollback can return to keeps its code.
    const maps = await client.list(ConfigMaps, {
      namespace,
      labelSelector: `${DEPLOYMENT_LABEL}=app`,
    });
    expect(maps.items.map((m) => `configMap ${m.metadata.name}`).sort()).toEqual(
      revisions.map((r) => r.code).sort(),
    );
  });

  test('undo to a revision that does not exist: not found, exit code 3, nothing changed', async () => {
    const generation = (await client.get(SandboxDeployments, { namespace, name: 'app' })).metadata
      .generation;
    const result = await run(['rollout', 'undo', 'app', '--to-revision', '99']);
    expect(result.stderr).toContain(`roost: ${namespace}/app has no revision 99 (it has: 3, 4, 5)`);
    expect(result.code).toBe(3);
    const now = await client.get(SandboxDeployments, { namespace, name: 'app' });
    expect(now.metadata.generation).toBe(generation);
    expect(now.metadata.annotations?.['roost.dev/rollback-to']).toBeUndefined();
  });

  test('a function with one revision has nothing to undo; an unknown one has no history (exit code 3)', async () => {
    await deployVersion('single', 'only');
    const single = await run(['rollout', 'undo', 'single']);
    expect(single.stderr).toContain(
      `${namespace}/single has no previous revision to roll back to (it has: 1)`,
    );
    expect(single.code).toBe(3);
    const unknown = await run(['rollout', 'history', 'nope']);
    expect(unknown.stderr).toContain(`No function ${namespace}/nope`);
    expect(unknown.code).toBe(3);
  });
});

test('deploy deletes the code ConfigMaps that no revision names any more', async () => {
  const mapOf = (output: string) => /ConfigMap \S+\/(pruned-code-[0-9a-f]{10})/.exec(output)![1]!;
  const p1 = mapOf((await deployVersion('pruned', 'p1')).stderr);
  // Keep no old revision: once p2 has rolled out, the controller deletes p1's ReplicaSet.
  await client.patch(
    SandboxDeployments,
    { namespace, name: 'pruned' },
    { spec: { revisionHistoryLimit: 0 } },
  );
  const p2 = mapOf((await deployVersion('pruned', 'p2')).stderr);
  const third = await deployVersion('pruned', 'p3');
  const p3 = mapOf(third.stderr);
  expect(third.stderr).toContain(`Deleted ConfigMap ${namespace}/${p1} (no revision uses it)`);
  const maps = await client.list(ConfigMaps, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=pruned`,
  });
  const names = maps.items.map((m) => m.metadata.name);
  expect(names).toContain(p3);
  // p2's ReplicaSet still existed when p3's deploy looked (it may be gone since).
  expect(names.every((name) => name === p2 || name === p3)).toBe(true);
});
