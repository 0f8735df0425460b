// Java functions for end-to-end tests through the sidecar: the fixture jars
// the Maven build makes, put where a Sandbox can take them from (a ConfigMap's
// binaryData, or a url with its sha256), and Sandboxes that run them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigMaps } from '../../kube/api/resources.ts';
import type { FunctionCode, FunctionSpec, Sandbox } from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import { fixtureJar } from './java-bridge.ts';

/** The bytes and sha256 of a fixture jar; fails with `npm run build:java` as the fix if it is not built. */
export function fixtureJarBytes(fixture: string): { bytes: Buffer; sha256: string } {
  const bytes = readFileSync(fixtureJar(fixture));
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** An immutable ConfigMap holding the fixture jar in binaryData, as a user would ship a jar. */
export async function createJarConfigMap(
  client: KubeClient,
  namespace: string,
  name: string,
  fixture: string,
): Promise<FunctionCode> {
  await client.create(ConfigMaps, {
    metadata: { name, namespace },
    immutable: true,
    binaryData: { 'function.jar': fixtureJarBytes(fixture).bytes.toString('base64') },
  });
  return { configMap: { name } };
}

export function javaSandbox(
  namespace: string,
  name: string,
  podName: string,
  handler: string,
  code: FunctionCode,
  fn: Partial<FunctionSpec> = {},
): Sandbox {
  return {
    metadata: { name, namespace },
    spec: { podName, function: { runtime: 'java', handler, code, ...fn } },
  };
}
