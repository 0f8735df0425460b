// Debian packages the project's setup scripts install when run as root on
// Debian (apt-get update, then install without recommends), each command
// shown as it runs; elsewhere the caller names the package to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { RoostError } from '../lib/errors.ts';

/** May this process install Debian packages itself? */
export function canAptInstall(): boolean {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version');
}

/** Installs `packages`, or throws a RoostError with `code` naming the apt-get step that failed. */
export function aptInstall(
  packages: string[],
  options: { code: string; env?: Record<string, string> },
): void {
  for (const args of [
    ['update', '-q'],
    ['install', '-y', '-q', '--no-install-recommends', ...packages],
  ]) {
    console.log(`$ apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...options.env },
    });
    if (result.status !== 0)
      throw new RoostError(
        options.code,
        `Cannot install ${packages.join(', ')}: apt-get ${args.join(' ')} exited ${result.status ?? result.signal}`,
      );
  }
}
