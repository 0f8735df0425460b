// npm run bench:api-writes — the control plane's floor under every plug: how
// long one write takes against the test control plane (a real kube-apiserver
// and etcd), a built-in object against a Sandbox, side by side in one run.
// A plug is bound by one write (the scheduler's bind) and reported Ready by
// another (the sidecar's status), so no plug can be faster than two of these
// and the watch events that carry them. Two more custom resources say where
// a Sandbox write's extra cost lies: the Sandbox's own schema without its CEL
// rules, and a CRD with no schema at all.
import { parse } from 'yaml';
import { installCrd, startControlPlane } from '../testenv/control-plane.ts';
import { ConfigMaps, Namespaces, Sandboxes, type ResourceType } from '../kube/api/resources.ts';
import type { CustomResourceDefinition } from '../kube/api/core.ts';
import type { KubeObject } from '../kube/api/meta.ts';
import type { Sandbox } from '../kube/api/roost.ts';
import { renderCrdFiles } from '../crds/render.ts';
import { cpus, totalmem } from 'node:os';
import { ms, percentile, table } from './support/stats.ts';

const WRITES = Number(process.env.WRITES ?? 150);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const namespace = 'bench-api-writes';

console.error(
  `bench:api-writes: ${ROUNDS} rounds of ${WRITES} writes of each kind; starting a control plane`,
);
const controlPlane = await startControlPlane({ progress: (line) => console.error(`  ${line}`) });
const client = controlPlane.client();
try {
  const withoutCel = await installProbeCrd(
    'celfreesandboxes',
    'CelFreeSandbox',
    (crd) => stripCel((crd.spec.versions as { schema: unknown }[])[0]!.schema),
    true,
  );
  const schemaless = await installProbeCrd(
    'schemalessprobes',
    'SchemalessProbe',
    () => ({
      openAPIV3Schema: {
        type: 'object',
        properties: {
          spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    }),
    false,
  );
  await client.create(Namespaces, { metadata: { name: namespace } });
  const sandbox: Sandbox = {
    metadata: { name: 'probe', namespace },
    spec: {
      function: {
        runtime: 'nodejs',
        handler: 'index.handler',
        code: { inline: { files: { 'index.mjs': 'export const handler = async () => 1;' } } },
      },
    },
  };
  await client.create(Sandboxes, sandbox);
  await client.create(withoutCel, { ...sandbox, kind: withoutCel.kind } as KubeObject);
  await client.create(schemaless, { ...sandbox, kind: schemaless.kind } as KubeObject);
  await client.create(ConfigMaps, { metadata: { name: 'probe', namespace }, data: { n: '0' } });
  const key = { namespace, name: 'probe' };
  const status = (n: number) => ({
    phase: 'Running' as const,
    podIP: '127.0.0.1',
    podName: `host-${n}`,
    conditions: [
      {
        type: 'Ready',
        status: n % 2 ? ('True' as const) : ('False' as const),
        reason: 'Probe',
        message: `write ${n}`,
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    ],
  });
  const kinds: [string, (n: number) => Promise<unknown>][] = [
    ['ConfigMap, merge patch', (n) => client.patch(ConfigMaps, key, { data: { n: String(n) } })],
    [
      'Sandbox status, merge patch',
      (n) => client.patch(Sandboxes, key, { status: status(n) }, { subresource: 'status' }),
    ],
    [
      'Sandbox status, server-side apply (the sidecar’s)',
      (n) =>
        client.applyStatus(Sandboxes, key, status(n) as Sandbox['status'], {
          fieldManager: 'bench',
        }),
    ],
    [
      'the Sandbox schema without its CEL rules, status merge patch',
      (n) => client.patch(withoutCel, key, { status: status(n) }, { subresource: 'status' }),
    ],
    [
      'a CRD without a schema, status merge patch',
      (n) => client.patch(schemaless, key, { status: status(n) }, { subresource: 'status' }),
    ],
    [
      'Sandbox label, merge patch',
      (n) => client.patch(Sandboxes, key, { metadata: { labels: { n: `v${n}` } } }),
    ],
  ];
  const samples = new Map<string, number[]>(kinds.map(([name]) => [name, []]));
  let n = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    console.error(`  round ${round}/${ROUNDS}`);
    for (const [name, write] of kinds) {
      for (let i = 0; i < 20; i++) await write(++n); // warm the path; not counted
      for (let i = 0; i < WRITES; i++) {
        const started = performance.now();
        await write(++n);
        samples.get(name)!.push(performance.now() - started);
      }
    }
  }
  const configMapP50 = percentile(samples.get(kinds[0]![0])!, 50);
  console.log(
    `\n## One write to the API server, ${ROUNDS * WRITES} of each kind, interleaved by round\n`,
  );
  console.log(
    table(
      ['write', 'p50', 'p99', 'p50 ratio to the ConfigMap'],
      kinds.map(([name]) => {
        const values = samples.get(name)!;
        const p50 = percentile(values, 50);
        return [name, ms(p50, 2), ms(percentile(values, 99), 2), (p50 / configMapP50).toFixed(2)];
      }),
    ),
  );
  console.log(
    `\nMachine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; etcd without fsync, as every test control plane.`,
  );
} finally {
  client.close();
  await controlPlane.stop();
}

/** A copy of the Sandbox CRD under the bench group, its schema made by `schema`; waits until it is Established. */
async function installProbeCrd(
  plural: string,
  kind: string,
  schema: (sandboxCrd: CustomResourceDefinition) => unknown,
  keepSelectableFields: boolean,
): Promise<ResourceType<KubeObject>> {
  const [, text] = renderCrdFiles().find(([file]) => file.startsWith('sandboxes.'))!;
  const crd = parse(text) as CustomResourceDefinition;
  const group = 'bench.roost.dev';
  const [version] = crd.spec.versions as { name: string; selectableFields?: unknown }[];
  const probe: CustomResourceDefinition = {
    ...crd,
    metadata: { name: `${plural}.${group}` },
    spec: {
      ...crd.spec,
      group,
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          ...version!,
          schema: schema(crd),
          additionalPrinterColumns: undefined,
          // Fields selectable by a field selector must be in the schema.
          selectableFields: keepSelectableFields ? version!.selectableFields : undefined,
        },
      ],
    },
  };
  await installCrd(client, probe);
  return { group, version: version!.name, kind, plural, namespaced: true };
}

/** The schema with every x-kubernetes-validations list taken out, at any depth. */
function stripCel(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripCel);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'x-kubernetes-validations')
      .map(([key, value]) => [key, stripCel(value)]),
  );
}
