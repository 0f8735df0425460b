// The CRDs state the defaults that kube/api/defaults.ts holds, so that what
// the API server fills in and what the components assume cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import {
  AUTOSCALING_DEFAULTS,
  FUNCTION_DEFAULTS,
  SANDBOX_DEFAULTS,
  WORKLOAD_DEFAULTS,
} from '../kube/api/defaults.ts';

type Schema = { properties?: Record<string, Schema>; default?: unknown };

function specSchema(file: string): Schema {
  const crd = parse(readFileSync(join(import.meta.dirname, file), 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
  };
  return crd.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!;
}

const defaultsOf = (schema: Schema, names: readonly string[]) =>
  Object.fromEntries(names.map((name) => [name, schema.properties![name]!.default]));

test('a Sandbox schema defaults its function and grace period as kube/api/defaults.ts says', () => {
  const sandbox = specSchema('sandboxes.roost.dev.yaml');
  const fn = sandbox.properties!.function!;
  expect(defaultsOf(fn, Object.keys(FUNCTION_DEFAULTS))).toEqual(FUNCTION_DEFAULTS);
  expect(defaultsOf(sandbox, Object.keys(SANDBOX_DEFAULTS))).toEqual(SANDBOX_DEFAULTS);
});

test('a SandboxDeployment schema defaults its workload and autoscaling fields as kube/api/defaults.ts says', () => {
  const deployment = specSchema('sandboxdeployments.roost.dev.yaml');
  expect(defaultsOf(deployment, Object.keys(WORKLOAD_DEFAULTS))).toEqual(WORKLOAD_DEFAULTS);
  expect(
    defaultsOf(deployment.properties!.autoscaling!, Object.keys(AUTOSCALING_DEFAULTS)),
  ).toEqual(AUTOSCALING_DEFAULTS);
});
