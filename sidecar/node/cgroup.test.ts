// Against this machine's real cgroup hierarchy (the tests run as root, as CI
// does): a group is made with its limits, takes a process, and goes again.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { CgroupHierarchy } from './cgroup.ts';

test('a function group holds its memory limit and a process, and is removed after', async () => {
  const hierarchy = CgroupHierarchy.detect();
  expect(hierarchy, JSON.stringify(hierarchy)).toBeInstanceOf(CgroupHierarchy);
  const groups = hierarchy as CgroupHierarchy;
  expect(groups.controllers).toContain('memory');
  const name = `roost-fn-test-${process.pid}`;
  const group = groups.create(name, { memoryBytes: 96 << 20, cpuWeight: 100, pidsMax: 32 });
  const child = spawn('sleep', ['30']);
  try {
    await group.join(child.pid!);
    const line = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => /memory/.test(l.split(':')[1] ?? '') || l.startsWith('0::'));
    expect(line).toContain(name);
    expect(
      readFileSync(
        `${group.directories.find((d) => d.includes('memory')) ?? group.directories[0]}/${groups.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'}`,
        'utf8',
      ).trim(),
    ).toBe(String(96 << 20));
    expect(group.oomKills()).toBe(0);
    expect(group.peakBytes()).toBeGreaterThanOrEqual(0);
  } finally {
    group.killAll();
    await new Promise((resolve) => child.on('exit', resolve));
  }
  group.remove();
  for (const dir of group.directories) expect(existsSync(dir), dir).toBe(false);
});
