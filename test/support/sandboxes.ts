// Building and watching Sandboxes in end-to-end tests.
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import { Sandboxes } from '../../kube/api/resources.ts';
import type { FunctionSpec, Sandbox, SandboxStatus } from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import { eventually } from './cluster.ts';

export function inlineSandbox(
  namespace: string,
  name: string,
  podName: string | undefined,
  source: string,
  fn: Partial<FunctionSpec> = {},
): Sandbox {
  return {
    metadata: { name, namespace },
    spec: {
      ...(podName ? { podName } : {}),
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        code: { inline: { files: { 'index.mjs': source } } },
        ...fn,
      },
    },
  };
}

/** A gzipped tarball of the files, and its sha256. */
export async function tarball(
  files: Record<string, string>,
): Promise<{ bytes: Buffer; sha256: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'roost-tgz-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, 'src', path)), { recursive: true });
      writeFileSync(join(dir, 'src', path), text);
    }
    await createTar(
      { gzip: true, cwd: join(dir, 'src'), file: join(dir, 'code.tgz'), portable: true },
      Object.keys(files),
    );
    const bytes = readFileSync(join(dir, 'code.tgz'));
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the Sandbox's status satisfies `check`, and returns it. */
export async function waitForStatus(
  client: KubeClient,
  namespace: string,
  name: string,
  check: (status: SandboxStatus) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<SandboxStatus> {
  let last: SandboxStatus | undefined;
  try {
    return await eventually(
      async () => {
        last = (await client.get(Sandboxes, { namespace, name })).status;
        return last && check(last) ? last : undefined;
      },
      { what, timeoutMs },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; status: ${JSON.stringify(last)}`, { cause: err });
  }
}

export const isRunningReady = (status: SandboxStatus) =>
  status.phase === 'Running' &&
  status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export const waitUntilReady = (
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs?: number,
) =>
  waitForStatus(
    client,
    namespace,
    name,
    isRunningReady,
    `Sandbox ${namespace}/${name} to be Ready`,
    timeoutMs,
  );

export const json = (value: unknown) => Buffer.from(JSON.stringify(value));
export const parse = <T = unknown>(bytes: Buffer): T => JSON.parse(bytes.toString('utf8')) as T;
