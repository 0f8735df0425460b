// Waits for a SandboxDeployment to roll out, as `kubectl rollout status`
// does, and says why it is not progressing when a Sandbox of the new revision
// cannot be placed or has failed: a user should not wait out a timeout to
// learn that their handler has a syntax error.
import type { Sandbox, SandboxDeployment } from '../kube/api/roost.ts';
import { SandboxDeployments, SandboxReplicaSets, Sandboxes } from '../kube/api/resources.ts';
import type { KubeClient, ObjectKey } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { DEPLOYMENT_LABEL, HOST_LOST_REASON, TEMPLATE_HASH_LABEL } from '../kube/well-known.ts';
import { sleep } from '../lib/duration.ts';
import { failure, notFoundError } from './errors.ts';
import { newReplicaSet } from './revisions.ts';
import { rolloutState } from './rollout-status.ts';

export interface WaitOptions {
  timeoutMs: number;
  /** Called with each new progress line. */
  onProgress: (line: string) => void;
  pollMs?: number;
}

/** Resolves with the final deployment and the message saying it is done; throws a CliError if it fails or times out. */
export async function waitForRollout(
  client: KubeClient,
  key: ObjectKey,
  options: WaitOptions,
): Promise<{ deployment: SandboxDeployment; message: string }> {
  const deadline = Date.now() + options.timeoutMs;
  const said = new Set<string>();
  const say = (line: string) => {
    if (said.has(line)) return;
    said.add(line);
    options.onProgress(line);
  };
  for (;;) {
    let deployment: SandboxDeployment;
    try {
      deployment = await client.get(SandboxDeployments, key);
    } catch (err) {
      if (isNotFound(err))
        throw notFoundError(
          `SandboxDeployment ${key.namespace}/${key.name} was deleted while waiting`,
        );
      throw err;
    }
    const state = rolloutState(deployment);
    if (state.done) return { deployment, message: state.message };
    if (state.failed) throw failure('ROOST_ROLLOUT_FAILED', state.message);
    say(`Waiting for ${key.name}: ${state.message}`);

    const problems = await newRevisionProblems(client, deployment);
    for (const unschedulable of problems.unschedulable) say(`  ${unschedulable}`);
    if (problems.failed.length > 0)
      throw failure(
        'ROOST_ROLLOUT_FAILED',
        `Rollout of ${key.namespace}/${key.name} failed: ${problems.failed.join('; ')}; see \`roost logs ${key.name}\` and \`kubectl describe sbx -l ${DEPLOYMENT_LABEL}=${key.name}\``,
      );
    if (Date.now() > deadline)
      throw failure(
        'ROOST_ROLLOUT_TIMEOUT',
        `${key.namespace}/${key.name} did not roll out within ${Math.round(options.timeoutMs / 1000)} s (${state.message}); it may still finish: check \`roost get sandboxes\`, or wait longer with --wait-timeout`,
      );
    await sleep(options.pollMs ?? 500);
  }
}

interface Problems {
  /** "Sandbox x: Unschedulable: 0/3 host pods fit: ...". */
  unschedulable: string[];
  /** "Sandbox x failed: reason: message". */
  failed: string[];
}

/** What keeps the Sandboxes of the deployment's current template from becoming ready. */
async function newRevisionProblems(
  client: KubeClient,
  deployment: SandboxDeployment,
): Promise<Problems> {
  const namespace = deployment.metadata.namespace;
  const name = deployment.metadata.name!;
  const replicaSets = await client.list(SandboxReplicaSets, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=${name}`,
  });
  const current = newReplicaSet(deployment, replicaSets.items);
  const hash = current?.metadata.labels?.[TEMPLATE_HASH_LABEL];
  if (!hash) return { unschedulable: [], failed: [] };
  const sandboxes = await client.list(Sandboxes, {
    namespace,
    labelSelector: `${DEPLOYMENT_LABEL}=${name},${TEMPLATE_HASH_LABEL}=${hash}`,
  });
  return sandboxProblems(sandboxes.items);
}

export function sandboxProblems(sandboxes: Sandbox[]): Problems {
  const problems: Problems = { unschedulable: [], failed: [] };
  for (const sandbox of sandboxes) {
    if (sandbox.metadata.deletionTimestamp) continue;
    const status = sandbox.status ?? {};
    // A Sandbox whose host was lost is replaced elsewhere: not the function's failure.
    if (status.phase === 'Failed' && status.reason !== HOST_LOST_REASON) {
      problems.failed.push(
        `Sandbox ${sandbox.metadata.name} failed: ${status.reason ?? 'Failed'}: ${status.message ?? 'no message'}`,
      );
      continue;
    }
    const scheduled = status.conditions?.find((c) => c.type === 'Scheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable')
      problems.unschedulable.push(
        `Sandbox ${sandbox.metadata.name} cannot be placed: ${scheduled.message}`,
      );
  }
  return problems;
}
