import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  InvalidUidRangeError,
  UidAllocator,
  UidRangeExhaustedError,
  parseUidRange,
} from './uid-allocator.ts';

let claimsDir: string;
beforeEach(() => {
  claimsDir = mkdtempSync(join(tmpdir(), 'roost-uids-'));
});
afterEach(() => rmSync(claimsDir, { recursive: true, force: true }));

describe('UidAllocator', () => {
  test('hands out every id of its range once, then refuses with a code', () => {
    const allocator = new UidAllocator({ range: { first: 3_000_000, last: 3_000_004 }, claimsDir });
    const ids = Array.from({ length: 5 }, () => allocator.allocate());
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(3_000_000);
    expect(() => allocator.allocate()).toThrow(UidRangeExhaustedError);
    expect(() => allocator.allocate()).toThrow(/widen --function-uid-range/);
  });

  test('two allocators sharing a claims directory (two sidecars on one machine) never hand out the same id', () => {
    const range = { first: 3_000_000, last: 3_000_009 };
    const a = new UidAllocator({ range, claimsDir });
    const b = new UidAllocator({ range, claimsDir });
    const ids = Array.from({ length: 5 }, () => [a.allocate(), b.allocate()]).flat();
    expect(new Set(ids).size).toBe(10);
  });

  test('a released id comes back only after the rest of the range has been handed out', () => {
    const allocator = new UidAllocator({ range: { first: 3_000_000, last: 3_000_002 }, claimsDir });
    const first = allocator.allocate();
    allocator.release(first);
    const next = [allocator.allocate(), allocator.allocate()];
    expect(next).not.toContain(first);
    expect(allocator.allocate()).toBe(first);
  });

  test("a dead sidecar's claim is taken over once its slot is removed; a live one's is not", async () => {
    const range = { first: 3_000_000, last: 3_000_001 };
    const child = spawn('sleep', ['30']);
    const dead = spawn('true');
    await new Promise((resolve) => dead.on('exit', resolve));
    const leftSlot = join(claimsDir, 'slot-1-1');
    mkdirSync(join(leftSlot, 'tmp'), { recursive: true });
    writeFileSync(join(claimsDir, '3000000'), `${child.pid}\n\n`);
    writeFileSync(join(claimsDir, '3000001'), `${dead.pid}\n${leftSlot}\n`);
    try {
      const allocator = new UidAllocator({ range, claimsDir });
      expect(allocator.allocate()).toBe(3_000_001);
      expect(() => allocator.allocate()).toThrow(UidRangeExhaustedError);
      // Taken over only once what its function left is gone.
      expect(readdirSync(claimsDir).sort()).toEqual(['3000000', '3000001']);
    } finally {
      child.kill();
    }
  });
});

test('parseUidRange reads FIRST-LAST and refuses anything else', () => {
  expect(parseUidRange('2000000-2065535')).toEqual({ first: 2_000_000, last: 2_065_535 });
  for (const bad of ['0-10', '10-5', 'abc', '5', '1-4294967295'])
    expect(() => parseUidRange(bad), bad).toThrow(InvalidUidRangeError);
});
