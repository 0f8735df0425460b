// Reading what each running Sandbox of a function has done, from the sidecars
// that run them (directly, or through a port-forward): for `roost stats` and
// `roost traffic`.
import type { SandboxStatsMessage } from '../proto/sandbox-host.ts';
import type { CliContext } from './context.ts';
import { closeAll, connect, sandboxesOf, sidecarError, sidecarTargets } from './sidecars.ts';
import type { SandboxStats } from './stats-total.ts';

/** What each running Sandbox of namespace/name has done, from its sidecar, sorted by Sandbox. */
export async function collectSandboxStats(
  context: CliContext,
  name: string,
): Promise<SandboxStats[]> {
  const { client, namespace } = context;
  const sandboxes = await sandboxesOf(client, namespace, name);
  const targets = await sidecarTargets(client, sandboxes, {
    allHosts: false,
    route: context.sidecarRoute(),
  });
  const token = targets.length > 0 ? await context.token() : '';
  const connections = connect(targets, token);
  const rows: SandboxStats[] = [];
  try {
    for (const [target, connection] of connections) {
      let reported: SandboxStatsMessage[];
      try {
        reported = (await connection.stats({ namespace, deployment: name })).sandboxes;
      } catch (err) {
        throw sidecarError(target, err);
      }
      for (const s of reported) rows.push({ ...s, pod: target.pod });
    }
  } finally {
    closeAll(connections);
  }
  return rows.sort((a, b) => a.sandbox.localeCompare(b.sandbox));
}
