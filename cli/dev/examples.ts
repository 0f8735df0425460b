// The example functions `roost dev` deploys: every manifest in examples/*/
// applied with server-side apply into the default namespace, a Java example's
// jar packed into the ConfigMap its manifest names, and the `# curl` lines of
// each manifest kept to print as things to try.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMaps, SandboxDeployments } from '../../kube/api/resources.ts';
import type { SandboxDeployment } from '../../kube/api/roost.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/api/meta.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');

export interface DeployedExample {
  namespace: string;
  name: string;
  runtime: string;
  /** Lines of the form `curl ...` from the manifest, for people to try. */
  tryLines: string[];
}

export async function deployExamples(
  client: KubeClient,
  options: { namespace: string; java: boolean },
): Promise<DeployedExample[]> {
  const deployed: DeployedExample[] = [];
  for (const dir of readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(EXAMPLES_DIR, d.name))) {
    for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      const text = readFileSync(join(dir, file), 'utf8');
      const objects = parseAllDocuments(text)
        .map((doc) => doc.toJS() as KubeObject | null)
        .filter((o): o is KubeObject => o !== null);
      for (const object of objects) {
        if (object.kind !== 'SandboxDeployment') continue;
        const deployment = object as SandboxDeployment;
        const fn = deployment.spec.template.spec.function;
        if (fn.runtime === 'java' && !options.java) continue;
        deployment.metadata.namespace = options.namespace;
        const configMap = fn.code.configMap?.name;
        if (
          configMap &&
          !(await packJar(client, dir, configMap, fn.code.configMap?.key, options.namespace))
        )
          continue;
        await client.apply(SandboxDeployments, deployment, {
          fieldManager: 'roost-dev',
          force: true,
        });
        deployed.push({
          namespace: options.namespace,
          name: deployment.metadata.name!,
          runtime: fn.runtime,
          tryLines: curlLines(text),
        });
      }
    }
  }
  return deployed;
}

/**
 * The `# curl ...` comments of a manifest as one-line commands, with
 * backslash-continued comment lines joined so that each prints ready to paste.
 */
export function curlLines(text: string): string[] {
  const lines: string[] = [];
  let current: string | undefined;
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('#')) {
      current = undefined;
      continue;
    }
    const line = raw.replace(/^#\s*/, '');
    if (current === undefined && !line.startsWith('curl ')) continue;
    const piece = line.replace(/\s*\\$/, '');
    current = current === undefined ? piece : `${current} ${piece}`;
    if (line.endsWith('\\')) continue;
    lines.push(current);
    current = undefined;
  }
  return lines;
}

/** Puts the example's built jar (target/*.jar) into the named ConfigMap under `key`; false if it has not been built. */
async function packJar(
  client: KubeClient,
  dir: string,
  name: string,
  key: string | undefined,
  namespace: string,
): Promise<boolean> {
  const target = join(dir, 'target');
  const jar = existsSync(target)
    ? readdirSync(target).find((f) => f.endsWith('.jar') && !f.startsWith('original-'))
    : undefined;
  if (!jar) return false;
  await client.apply(
    ConfigMaps,
    {
      metadata: { name, namespace },
      binaryData: { [key ?? 'function.jar']: readFileSync(join(target, jar)).toString('base64') },
    },
    { fieldManager: 'roost-dev', force: true },
  );
  return true;
}
