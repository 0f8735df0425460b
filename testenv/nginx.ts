// `npm run setup:nginx`: Debian's nginx, the second baseline of bench:invoke
// (a Node HTTP server behind a reverse proxy, a setup users know). Benchmark
// only: npm test does not need it. As root on Debian it installs the package;
// elsewhere it names it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { RoostError } from '../lib/errors.ts';
import { aptInstall, canAptInstall } from './apt.ts';

const NGINX = '/usr/sbin/nginx';

/** The nginx binary, or undefined when it is not installed. */
export function nginxPath(): string | undefined {
  const path = process.env.ROOST_NGINX ?? NGINX;
  return existsSync(path) ? path : undefined;
}

export function setupNginx(): void {
  const found = nginxPath();
  if (found) {
    console.log(`nginx: ${found} is installed`);
    return;
  }
  if (!canAptInstall())
    throw new RoostError(
      'ROOST_NO_NGINX',
      'Cannot set up the nginx baseline: no nginx at /usr/sbin/nginx (or ROOST_NGINX). Install it with `sudo apt-get install -y nginx-light` (Debian), or run `npm run setup:nginx` as root.',
    );
  console.log('nginx: installing nginx with apt-get');
  aptInstall(['nginx'], { code: 'ROOST_NGINX_SETUP' });
  // The package starts a system-wide nginx on port 80; the benchmark runs its own.
  spawnSync('sh', ['-c', 'service nginx stop || true'], { stdio: 'ignore' });
  console.log(`nginx: ${nginxPath()} installed`);
}

if (import.meta.main) {
  try {
    setupNginx();
  } catch (err) {
    if (!(err instanceof RoostError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
