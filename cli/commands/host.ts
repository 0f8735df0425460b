// `roost host add|remove`: host pods for a running `roost dev`. A host pod is
// a Pod object bound to the dev node; roost dev's kubelet starts its sidecar
// when it appears and stops it when it goes, as a kubelet would.
import { Command } from 'commander';
import { join } from 'node:path';
import { Pods } from '../../kube/api/resources.ts';
import { KubeClient } from '../../kube/client.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import { ALLOWED_NAMESPACES_ANNOTATION, HOST_LABEL } from '../../kube/well-known.ts';
import { RoostError } from '../../lib/errors.ts';
import { hostPodSpec } from '../../testenv/host-pods.ts';
import { DEV_ALLOWED_NAMESPACES, DEV_NAMESPACE, DEV_NODE, type DevState } from '../dev/state.ts';
import { currentSurroundings, readDevState } from '../context.ts';
import { allowedNamespacesOption, integerOption, listOption } from '../options.ts';

function devClient(
  kubeconfig: string | undefined,
  state: Partial<DevState> | undefined,
): KubeClient {
  const path =
    kubeconfig ?? (state?.kubeconfig ? join(process.cwd(), state.kubeconfig) : undefined);
  if (!path)
    throw new RoostError(
      'ROOST_NO_CLUSTER',
      'No running roost dev here (no .roost/dev.json); start one with `npm start`, or pass --kubeconfig',
    );
  return KubeClient.load(path, { fieldManager: 'roost-cli' });
}

export function hostCommand(): Command {
  const host = new Command('host').description('Add or remove host pods of a running roost dev.');
  host
    .command('add')
    .description('Add a host pod; roost dev starts its sidecar.')
    .option('--name <name>', 'pod name (default: the next free host-N)')
    .option(
      '--memory <MiB>',
      "memory it offers Sandboxes (default: as roost dev's host pods)",
      integerOption('--memory', 64),
    )
    .option('--cpu <millis>', 'CPU it offers Sandboxes', integerOption('--cpu', 100), 2000)
    .option(
      '--runtimes <list>',
      "runtimes it offers: nodejs, java (default: as roost dev's host pods)",
      listOption(['nodejs', 'java'] as const),
    )
    .option(
      '--allowed-namespaces <list>',
      'namespaces whose Sandboxes it takes: "*" or "a,b" (default: as roost dev\'s host pods)',
      allowedNamespacesOption,
    )
    .option('--kubeconfig <path>', 'kubeconfig (default: the running roost dev)')
    .action(
      async (options: {
        allowedNamespaces?: string;
        name?: string;
        memory?: number;
        cpu: number;
        runtimes?: ('nodejs' | 'java')[];
        kubeconfig?: string;
      }) => {
        const state = readDevState(currentSurroundings());
        const client = devClient(options.kubeconfig, state);
        const like = state?.hosts;
        const memoryMiB = options.memory ?? like?.memoryMiB ?? 2048;
        const runtimes = options.runtimes ?? like?.runtimes ?? ['nodejs'];
        const allowedNamespaces =
          options.allowedNamespaces ?? like?.allowedNamespaces ?? DEV_ALLOWED_NAMESPACES;
        const existing = new Set(
          (
            await client.list(Pods, {
              namespace: DEV_NAMESPACE,
              labelSelector: `${HOST_LABEL}=true`,
            })
          ).items.map((p) => p.metadata.name),
        );
        let n = 1;
        while (existing.has(`host-${n}`)) n++;
        const name = options.name ?? `host-${n}`;
        try {
          await client.create(Pods, {
            metadata: {
              name,
              namespace: DEV_NAMESPACE,
              labels: { [HOST_LABEL]: 'true', 'app.kubernetes.io/name': 'roost-host' },
              annotations: { [ALLOWED_NAMESPACES_ANNOTATION]: allowedNamespaces },
            },
            spec: hostPodSpec({
              nodeName: DEV_NODE,
              memoryMiB,
              cpuMillis: options.cpu,
              runtimes,
              // As roost dev's own: a sidecar that dies is restarted in place.
              restartPolicy: 'Always',
            }),
          });
        } catch (err) {
          if (isAlreadyExists(err))
            throw new RoostError(
              'ROOST_EXISTS',
              `Host pod ${DEV_NAMESPACE}/${name} already exists`,
            );
          throw err;
        }
        console.log(
          `host pod ${DEV_NAMESPACE}/${name} added (${memoryMiB} MiB, ${runtimes.join(', ')}; namespaces ${allowedNamespaces})`,
        );
        client.close();
      },
    );
  host
    .command('remove <name>')
    .description('Remove a host pod; its Sandboxes move to the others.')
    .option('--force', 'stop its sidecar at once instead of letting it drain')
    .option('--kubeconfig <path>', 'kubeconfig (default: the running roost dev)')
    .action(async (name: string, options: { force?: boolean; kubeconfig?: string }) => {
      const client = devClient(options.kubeconfig, readDevState(currentSurroundings()));
      try {
        await client.delete(
          Pods,
          { namespace: DEV_NAMESPACE, name },
          options.force ? { gracePeriodSeconds: 0 } : {},
        );
      } catch (err) {
        if (isNotFound(err))
          throw new RoostError('ROOST_NOT_FOUND', `No host pod ${DEV_NAMESPACE}/${name}`);
        throw err;
      }
      console.log(`host pod ${DEV_NAMESPACE}/${name} removed`);
      client.close();
    });
  return host;
}
