// The restart supervisor with real processes: a death is told and followed by
// a new run, deaths in a row wait longer, and stop() leaves nothing running,
// even when it comes while a restart is waiting.
import { afterEach, expect, test } from 'vitest';
import { startProcess, type ManagedProcess } from './process.ts';
import { Supervisor } from './supervisor.ts';

const supervisors: Supervisor<ManagedProcess>[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop((p) => p.stop(1000));
});

/** A process that runs until killed. */
async function sleeper(): Promise<ManagedProcess> {
  const child = startProcess({
    name: 'sleeper',
    command: process.execPath,
    args: ['-e', 'setInterval(() => {}, 1000)'],
  });
  return child;
}

function supervise(options: { initialBackoffMs?: number } = {}) {
  const events: string[] = [];
  const waits: number[] = [];
  return sleeper().then((first) => {
    const supervisor = Supervisor.watch(first, {
      name: 'sleeper',
      initialBackoffMs: options.initialBackoffMs ?? 50,
      maxBackoffMs: 10_000,
      start: sleeper,
      onExit: ({ exit, waitMs }) => {
        events.push(`exited ${exit.signal}`);
        waits.push(waitMs);
      },
      onRestarted: (_, { restarts }) => void events.push(`restarted ${restarts}`),
    });
    supervisors.push(supervisor);
    return { supervisor, events, waits, first };
  });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a run that dies is told, restarted with a new pid, and counted', async () => {
  const { supervisor, events, first } = await supervise();
  first.kill('SIGKILL');
  await until(() => supervisor.restarts === 1);
  expect(events).toEqual(['exited SIGKILL', 'restarted 1']);
  expect(supervisor.current.pid).not.toBe(first.pid);
  expect(supervisor.current.exit).toBeUndefined();
  expect(supervisor.down).toBe(false);
});

test('deaths in a row wait longer each time', async () => {
  const { supervisor, waits } = await supervise({ initialBackoffMs: 40 });
  for (let i = 1; i <= 4; i++) {
    supervisor.current.kill('SIGKILL');
    await until(() => supervisor.restarts === i);
  }
  // Full jitter: each wait lies in the upper half of a ceiling that doubles.
  waits.forEach((wait, i) => {
    expect(wait).toBeGreaterThanOrEqual((40 * 2 ** i) / 2);
    expect(wait).toBeLessThanOrEqual(40 * 2 ** i);
  });
});

test('stop() while a restart waits stops everything and starts nothing more', async () => {
  const { supervisor, first } = await supervise({ initialBackoffMs: 2000 });
  first.kill('SIGKILL');
  await until(() => supervisor.down);
  await supervisor.stop((p) => p.stop(1000));
  await new Promise((r) => setTimeout(r, 2500));
  expect(supervisor.restarts).toBe(0);
  expect(supervisor.current).toBe(first);
});
