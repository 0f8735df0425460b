// The roost image copies the source directories one by one, so a new top-level
// directory the CLI imports is missing from the image until someone adds it
// (the triggers component once crashed at start on real nodes for this). This
// walks the relative imports from the CLI's entry point, static and dynamic,
// and checks that the Containerfile copies every file reached and that
// .dockerignore does not leave it out of the build context.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const ENTRY = 'cli/roost.ts';

function copiedDirectories(): Set<string> {
  const containerfile = readFileSync(join(root, 'deploy/images/roost.Containerfile'), 'utf8');
  const copied = new Set<string>();
  for (const [, source] of containerfile.matchAll(/^COPY\s+(?!--)(\S+)\s+\S+\s*$/gm))
    copied.add(source!.replace(/\/$/, ''));
  return copied;
}

function ignoredPaths(): string[] {
  return readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) => line && !line.startsWith('#') && !line.startsWith('!') && !line.includes('*'),
    );
}

/** Every project file reached from the entry point through relative imports. */
function reachableFiles(): Set<string> {
  const seen = new Set<string>();
  const queue = [ENTRY];
  const specifier = /(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, path] of text.matchAll(specifier)) {
      const target = relative(root, resolve(root, dirname(file), path!));
      if (existsSync(join(root, target))) queue.push(target);
    }
  }
  return seen;
}

test('the roost image holds every file the roost command imports', () => {
  const copied = copiedDirectories();
  const ignored = ignoredPaths();
  const reached = [...reachableFiles()];
  expect(reached.length).toBeGreaterThan(100);
  const missing = reached.filter((file) => {
    const inCopiedDirectory = [...copied].some((dir) => file === dir || file.startsWith(`${dir}/`));
    const leftOut = ignored.some((path) => file === path || file.startsWith(`${path}/`));
    return !inCopiedDirectory || leftOut;
  });
  expect(missing, 'files the CLI imports that the image lacks (add a COPY line)').toEqual([]);
});
