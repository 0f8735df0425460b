// The weaker mode, as a sidecar that is not root meets it: started here as a
// real process under an unprivileged user, it must say why, loudly, and keep
// Node's permission model as the only belt.
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';

const NOBODY = 65534;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'roost-isolation-'));
  chownSync(dir, NOBODY, NOBODY);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a sidecar that is not root reports weak isolation, why, and warns', () => {
  const script = `
    import { Isolation } from ${JSON.stringify(join(import.meta.dirname, 'isolation.ts'))};
    import { RUNTIME_DIR } from ${JSON.stringify(join(import.meta.dirname, 'runtime-process.ts'))};
    const lines = [];
    const log = { info: (o, m) => lines.push(['info', m]), warn: (o, m) => lines.push(['warn', m]) };
    const isolation = Isolation.setUp({
      uids: 'auto', cgroups: 'auto', dataDir: ${JSON.stringify(dir)}, slotsDir: ${JSON.stringify(join(dir, 'slots'))},
      runtimeDir: RUNTIME_DIR, nodeBinary: process.execPath, log,
    });
    console.log(JSON.stringify({ report: isolation.report, lines, users: isolation.users !== undefined }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: dir,
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
  });
  expect(result.stderr).toBe('');
  const { report, lines, users } = JSON.parse(result.stdout) as {
    report: { level: string; details: string; weaknesses: string[] };
    lines: [string, string][];
    users: boolean;
  };
  expect(report.level).toBe('weak');
  expect(users).toBe(false);
  expect(report.details).toMatch(/^uids=shared cgroups=none /);
  expect(report.weaknesses[0]).toBe(
    "functions share the sidecar's user id: the sidecar is not root and lacks the capabilities CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID",
  );
  expect(lines.filter(([level]) => level === 'warn').map(([, m]) => m)).toContain(
    `WEAKER FUNCTION ISOLATION on this host pod: ${report.weaknesses[0]}`,
  );
});
