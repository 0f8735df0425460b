// node bench/support/profile-top.ts <file.cpuprofile> [rows]: the functions
// with the most self time in a CPU profile, and those with the most
// inclusive time (themselves and what they call), as shares of the busy
// (not idle) samples. What BENCHMARKS.md's profile tables are read from.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/support/profile-top.ts <file.cpuprofile> [rows]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parentOf.set(child, node.id);
const nameOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  // Paths from the repository (or node_modules) down; node: built-ins as they are.
  const short = url.replace(/^file:\/\/.*?\/(node_modules\/)?(?=[^/]+\/[^/]+$)/, '');
  const where = url ? ` ${short}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where}`;
};

const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
for (const [id, count] of hits) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === '(idle)') continue;
  busy += count;
  const name = nameOf(node);
  self.set(name, (self.get(name) ?? 0) + count);
  // A recursive function counts once per sample.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = nameOf(byId.get(at)!);
    if (seen.has(frame)) continue;
    seen.add(frame);
    inclusive.set(frame, (inclusive.get(frame) ?? 0) + count);
  }
}
const print = (title: string, counts: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, rows))
    console.log(`${((100 * count) / busy).toFixed(1).padStart(6)} %  ${name}`);
};
console.log(`${file}: ${profile.samples.length} samples, ${busy} busy`);
print('self time (share of busy samples)', self);
print('inclusive time', inclusive);
