// `roost console` for a test: a real process scoped to the test's namespace,
// a login through a one-time link as a browser would, and the live snapshot
// read from its server-sent events.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../lib/process.ts';
import { mintLoginTicket } from '../../console/login-tickets.ts';
import type { Snapshot } from '../../console/view-types.ts';
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import { kubeconfigPath } from './cluster.ts';

const ROOST = join(import.meta.dirname, '..', '..', 'cli', 'roost.ts');

export interface ConsoleProcess {
  url: string;
  loginKey: string;
  process: ManagedProcess;
  /** A fresh one-time login link. */
  loginLink(): string;
  stop(): Promise<void>;
}

export async function startConsoleProcess(options: {
  namespace: string;
  token: string;
  args?: string[];
}): Promise<ConsoleProcess> {
  const loginKey = randomBytes(24).toString('base64url');
  let resolveUrl!: (url: string) => void;
  const ready = new Promise<string>((resolve) => (resolveUrl = resolve));
  const process = startProcess({
    name: `roost console ${options.namespace}`,
    command: globalThis.process.execPath,
    args: [
      ROOST,
      'console',
      '--port=0',
      `--kubeconfig=${kubeconfigPath()}`,
      `--namespace=${options.namespace}`,
      `--system-namespace=${options.namespace}`,
      '--scrape-interval=1s',
      ...(options.args ?? []),
    ],
    env: {
      ...globalThis.process.env,
      ROOST_INVOKE_TOKEN: options.token,
      ROOST_CONSOLE_LOGIN_KEY: loginKey,
      ROOST_EXIT_WITH_PARENT: '1',
      ROOST_LOG_LEVEL: globalThis.process.env.ROOST_LOG_LEVEL ?? 'warn',
    },
    keepStderrLines: 30,
    onLine: (line) => {
      const match = /roost console ready on (\S+)/.exec(line);
      if (match) resolveUrl(match[1]!);
    },
  });
  const exited = process.exited.then((exit) => {
    throw new Error(
      `roost console exited (${exit.code ?? exit.signal}) before it was ready:\n${process.stderrTail.join('\n')}`,
    );
  });
  const url = await Promise.race([ready, exited]);
  return {
    url,
    loginKey,
    process,
    loginLink: () => `${url}/login?ticket=${mintLoginTicket(loginKey)}`,
    stop: async () => void (await process.stop()),
  };
}

/** Follows a login link as a browser would; returns the session cookie. */
export async function logIn(link: string): Promise<string> {
  const response = await fetch(link, { redirect: 'manual' });
  await response.arrayBuffer();
  if (response.status !== 303) throw new Error(`login answered ${response.status}`);
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

/** The snapshots the console pushes, until `until` accepts one (or the time is up). */
export async function waitForSnapshot(
  url: string,
  cookie: string,
  until: (snapshot: Snapshot) => boolean,
  timeoutMs = 20_000,
): Promise<Snapshot> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let last: Snapshot | undefined;
  try {
    const response = await fetch(`${url}/api/stream`, {
      headers: { cookie },
      signal: abort.signal,
    });
    if (!response.ok) throw new Error(`stream answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (!message.startsWith('event: snapshot') || !data) continue;
        last = JSON.parse(data) as Snapshot;
        if (until(last)) return last;
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  throw new Error(
    `No snapshot as wanted within ${timeoutMs} ms; the last: ${JSON.stringify(last)?.slice(0, 2000)}`,
  );
}

/**
 * A small function the console tests deploy: it answers "hello <name>" and
 * prints one line with its request id, so that an invocation's logs can be found.
 */
export function greeter(options: {
  namespace: string;
  name: string;
  replicas: number;
  memoryMiB?: number;
}): SandboxDeployment {
  return {
    apiVersion: 'roost.dev/v1alpha1',
    kind: 'SandboxDeployment',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      replicas: options.replicas,
      template: {
        spec: {
          function: {
            runtime: 'nodejs',
            handler: 'index.handler',
            memoryMiB: options.memoryMiB ?? 64,
            code: {
              inline: {
                files: {
                  'index.mjs': `export const handler = async (event, context) => {
                    console.log('handled', context.awsRequestId, event.rawQueryString ?? '');
                    return { statusCode: 200, body: 'hello ' + (event.queryStringParameters?.name ?? 'world') };
                  };`,
                },
              },
            },
          },
        },
      },
    },
  } as SandboxDeployment;
}
