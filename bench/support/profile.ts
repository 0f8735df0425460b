// A CPU profile of a running Node process, taken while the caller applies
// load: SIGUSR1 opens the process's inspector, the profile is taken over the
// DevTools protocol (Node's global WebSocket), and the inspector is closed
// again. Writes the .cpuprofile (for a flame graph in Chrome DevTools or
// speedscope) and returns the functions with the most self time.
import { writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotFunction {
  name: string;
  /** Share of the samples, 0 to 1. */
  share: number;
}

export async function profileProcess(
  pid: number,
  file: string,
  during: () => Promise<unknown>,
  port = 9229,
): Promise<HotFunction[]> {
  process.kill(pid, 'SIGUSR1');
  let target: { webSocketDebuggerUrl: string } | undefined;
  for (let tries = 0; !target && tries < 100; tries++) {
    try {
      target = ((await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as never[])[0];
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (!target) throw new Error(`the inspector of pid ${pid} did not open on port ${port}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  };
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 100 });
  await call('Profiler.start');
  await during();
  const { profile } = await call<{ profile: { nodes: ProfileNode[] } }>('Profiler.stop');
  await call('Runtime.evaluate', { expression: 'process._debugEnd()' });
  ws.close();
  writeFileSync(file, JSON.stringify(profile));
  const byName = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const frame = node.callFrame;
    const where = frame.url
      ? ` ${frame.url.replace(/^.*\/(node_modules\/)?/, '')}:${frame.lineNumber + 1}`
      : '';
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    byName.set(name, (byName.get(name) ?? 0) + hits);
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([name, hits]) => ({ name, share: hits / Math.max(1, total) }));
}
