// Builds the console's front end into console/ui/dist with esbuild: one
// bundle of Preact, uPlot and the views, one stylesheet, and index.html.
// Nothing is loaded from elsewhere at run time. `npm ci` runs this (the
// package's prepare script); `roost console` runs it on a first start
// without dist/; `npm run build:console` by hand.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const UI_DIR = import.meta.dirname;
export const DIST_DIR = join(UI_DIR, 'dist');

export async function buildConsoleUi(options: { quiet?: boolean } = {}): Promise<void> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error(
      'Cannot build the console front end: esbuild is not installed (a development dependency); run `npm ci` in the project, or build the image, which builds it',
    );
  }
  const started = Date.now();
  rmSync(DIST_DIR, { recursive: true, force: true });
  mkdirSync(DIST_DIR, { recursive: true });
  await esbuild.build({
    entryPoints: [join(UI_DIR, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: DIST_DIR,
    entryNames: 'app',
    logLevel: 'warning',
  });
  copyFileSync(join(UI_DIR, 'index.html'), join(DIST_DIR, 'index.html'));
  if (!options.quiet)
    console.log(`console front end built into ${DIST_DIR} in ${Date.now() - started} ms`);
}

if (import.meta.main) await buildConsoleUi();
