// kubectl as a user runs it, against a given kubeconfig, for the real-node suite.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sleep } from '../../../lib/duration.ts';

const execFileAsync = promisify(execFile);

export type Kubectl = (args: string[], options?: { input?: string }) => Promise<string>;

/**
 * How long to let a command run: longer than the `--timeout=` it was given
 * (kubectl drain, helm --wait), so that its own, clearer, timeout speaks
 * first; else `fallbackMs`.
 */
function processTimeoutMs(args: string[], fallbackMs: number): number {
  const given = args.find((a) => a.startsWith('--timeout='))?.slice('--timeout='.length);
  const seconds = given?.match(/^(\d+)s$/)?.[1];
  return seconds ? Math.max(fallbackMs, Number(seconds) * 1000 + 30_000) : fallbackMs;
}

export function kubectlFor(kubeconfig: string): Kubectl {
  return async (args, options = {}) => {
    const run = execFileAsync('kubectl', args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      maxBuffer: 16 * 1024 * 1024,
      timeout: processTimeoutMs(args, 90_000),
    });
    if (options.input !== undefined) {
      run.child.stdin?.end(options.input);
    }
    try {
      return (await run).stdout;
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${stderr?.trim() ?? String(err)}`, {
        cause: err,
      });
    }
  };
}

/** Polls `check` until it returns a value, or fails with the last thing it saw. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ''}`,
      );
    await sleep(250);
  }
}

export interface PodSummary {
  name: string;
  node: string;
  phase: string;
  ready: boolean;
  ip: string;
}

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

/** The pods matching `selector` that are not on their way out. */
export async function pods(
  kubectl: Kubectl,
  namespace: string,
  selector: string,
): Promise<PodSummary[]> {
  const list = JSON.parse(
    await kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      ...(selector ? ['-l', selector] : []),
      '-o',
      'json',
    ]),
  ) as PodList;
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      node: p.spec.nodeName ?? '',
      phase: p.status.phase ?? '',
      ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      ip: p.status.podIP ?? '',
    }));
}

/** Helm 3 as `npm run helm` builds it, against the given kubeconfig. */
export async function helmFor(kubeconfig: string): Promise<Kubectl> {
  const { ensureHelm } = await import('../../../testenv/binaries.ts');
  const helm = await ensureHelm();
  return async (args) => {
    try {
      const { stdout } = await execFileAsync(helm, args, {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        maxBuffer: 16 * 1024 * 1024,
        timeout: processTimeoutMs(args, 300_000),
      });
      return stdout;
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      throw new Error(`helm ${args.join(' ')} failed: ${stderr?.trim() ?? String(err)}`, {
        cause: err,
      });
    }
  };
}

/**
 * What an operator looks at when an install does not come up: every pod in
 * the namespaces, the Warning Events, and the last log lines of each pod that
 * is not ready (its previous container's too, when it restarted).
 */
export async function diagnose(kubectl: Kubectl, namespaces: string[]): Promise<string> {
  const sections: string[] = [];
  const attempt = async (title: string, args: string[]) => {
    try {
      sections.push(`--- ${title}\n${(await kubectl(args)).trim()}`);
    } catch (err) {
      sections.push(`--- ${title}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  for (const namespace of namespaces) {
    await attempt(`pods in ${namespace}`, ['get', 'pods', '-n', namespace, '-o', 'wide']);
    await attempt(`Warning Events in ${namespace}`, [
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector=type=Warning',
    ]);
    const notReady = (await pods(kubectl, namespace, '').catch(() => [])).filter((p) => !p.ready);
    for (const pod of notReady) {
      await attempt(`logs of ${namespace}/${pod.name}`, [
        'logs',
        '-n',
        namespace,
        pod.name,
        '--all-containers',
        '--tail=20',
      ]);
      await attempt(`previous logs of ${namespace}/${pod.name}`, [
        'logs',
        '-n',
        namespace,
        pod.name,
        '--all-containers',
        '--previous',
        '--tail=20',
      ]);
    }
  }
  return sections.join('\n');
}
