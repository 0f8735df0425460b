// `npm run setup:browser`: Debian's Chromium for the console's browser tests,
// driven by playwright-core (which downloads no browser of its own). As root
// on Debian it installs the package; elsewhere it names it.
import { existsSync } from 'node:fs';
import { RoostError } from '../lib/errors.ts';
import { aptInstall, canAptInstall } from './apt.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export class MissingBrowserError extends RoostError {
  constructor() {
    super(
      'ROOST_NO_BROWSER',
      'Cannot run the browser tests: no Chromium at /usr/bin/chromium (or ROOST_CHROMIUM). Install it with `sudo apt-get install -y chromium` (Debian), or run `npm run setup:browser` as root.',
    );
  }
}

/** The Chromium the tests drive: ROOST_CHROMIUM, else Debian's. */
export function chromiumPath(): string {
  const path = process.env.ROOST_CHROMIUM ?? CANDIDATES.find((p) => existsSync(p));
  if (!path || !existsSync(path)) throw new MissingBrowserError();
  return path;
}

export function setupBrowser(): void {
  try {
    console.log(`browser: ${chromiumPath()} is installed`);
    return;
  } catch (err) {
    if (!(err instanceof MissingBrowserError)) throw err;
    const canApt = canAptInstall();
    if (!canApt) throw err;
  }
  console.log('browser: installing chromium with apt-get');
  aptInstall(['chromium', 'fonts-dejavu-core'], { code: 'ROOST_BROWSER_SETUP' });
  console.log(`browser: ${chromiumPath()} installed`);
}

if (import.meta.main) {
  try {
    setupBrowser();
  } catch (err) {
    if (!(err instanceof RoostError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
