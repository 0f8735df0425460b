import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createLogger } from '../../lib/log.ts';
import { TmpWatch, measure } from './tmp-watch.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-tmp-watch-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('measure counts the blocks of every file below, in nested directories too', async () => {
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'one'), Buffer.alloc(1 << 20, 1));
  writeFileSync(join(dir, 'a', 'b', 'two'), Buffer.alloc(2 << 20, 1));
  const usage = await measure(dir);
  expect(usage.entries).toBe(4);
  expect(usage.bytes).toBeGreaterThanOrEqual(3 << 20);
  expect(usage.bytes).toBeLessThan((3 << 20) + 64 * 1024);
});

test('a watched directory over its limit is reported once, with what it holds', async () => {
  const watch = new TmpWatch({ intervalMs: 60_000, log: createLogger('test') });
  const over: number[] = [];
  watch.watch(dir, 1 << 20, (usage) => over.push(usage.bytes));
  await watch.checkNow();
  expect(over).toEqual([]);
  writeFileSync(join(dir, 'big'), Buffer.alloc(2 << 20, 1));
  await watch.checkNow();
  await watch.checkNow();
  expect(over).toHaveLength(1);
  expect(over[0]).toBeGreaterThanOrEqual(2 << 20);
  watch.close();
});
