// `npm run generate:release`: the plain YAML release for `kubectl apply`
// users (as Knative ships one), rendered from the chart with its defaults.
// The invoke-token and console login-key Secrets are left out, so that no token is ever shared
// through the repository: the release's header says how to make one.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from './binaries.ts';

const execFileAsync = promisify(execFile);
const REPO = join(import.meta.dirname, '..');
export const RELEASE_FILE = join(REPO, 'deploy', 'release', 'roost.yaml');
/** The Kubernetes version the release is rendered for (the chart needs 1.30 or later). */
const KUBE_VERSION = '1.34.4';

const HEADER = `# Roost, rendered from deploy/chart/roost with its default values by
# \`npm run generate:release\`. Do not edit. To install without Helm:
#
#   kubectl create namespace roost-system
#   kubectl apply --server-side -f deploy/release/roost.yaml
#   token="$(openssl rand -hex 24)"
#   for ns in roost-system roost-system-hosts; do    # Roost, and its host pools
#     kubectl create secret generic roost-invoke-token -n "$ns" --from-literal=token="$token"
#   done
#   kubectl create secret generic roost-console-login -n roost-system \\
#     --from-literal=key="$(openssl rand -hex 24)"
#
# The images are \`roost:0.1.0\` and \`roost-java:0.1.0\`: build and push them
# (deploy/images/), or render the chart with your own values instead.
`;

export async function renderRelease(): Promise<string> {
  const helm = await ensureHelm();
  const { stdout } = await execFileAsync(
    helm,
    [
      'template',
      'roost',
      join(REPO, 'deploy', 'chart', 'roost'),
      '--namespace',
      'roost-system',
      '--kube-version',
      KUBE_VERSION,
      '--include-crds',
      '--set',
      'invokeToken.create=false',
      '--set',
      'console.loginKey.create=false',
    ],
    { maxBuffer: 32 * 1024 * 1024 },
  );
  return HEADER + stdout;
}

if (import.meta.main) {
  writeFileSync(RELEASE_FILE, await renderRelease());
  console.log(`wrote ${RELEASE_FILE}`);
}
