// Logs: every line of one function's Sandboxes, merged in time, filtered by
// level, text and request id; with "live" new lines stream in as they are
// written (server-sent events from the sidecars' followed logs).
import { useEffect, useState } from 'preact/hooks';
import type { LogLine, Snapshot } from '../../view-types.ts';
import { api } from './api.ts';
import type { Filters } from './app.tsx';

const LEVELS = ['', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** Lines kept on the page while tailing; the oldest go first. */
const MAX_SHOWN = 2000;

export function LogsView({
  snapshot,
  filters,
  initial,
}: {
  snapshot: Snapshot;
  filters: Filters;
  initial: string[];
}) {
  const functions = snapshot.functions.filter(
    (f) => !filters.namespace || f.namespace === filters.namespace,
  );
  const [fn, setFn] = useState(
    initial.length >= 2
      ? `${initial[0]}/${initial[1]}`
      : functions[0]
        ? `${functions[0].namespace}/${functions[0].name}`
        : '',
  );
  const [level, setLevel] = useState('');
  const [contains, setContains] = useState('');
  const [requestId, setRequestId] = useState(initial[2] ?? '');
  const [live, setLive] = useState(true);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!fn) return;
    let stopped = false;
    /** Loads the newest lines; resolves with the time of the newest, if any. */
    const load = async (): Promise<number | undefined> => {
      const query = new URLSearchParams({ level, contains, requestId, limit: '500' });
      try {
        const { lines } = await api<{ lines: LogLine[] }>(`/api/functions/${fn}/logs?${query}`);
        if (!stopped) {
          setLines(lines);
          setError('');
        }
        return lines.at(-1)?.timeMs;
      } catch (err) {
        if (!stopped) setError((err as Error).message);
        return undefined;
      }
    };
    let tail: EventSource | undefined;
    void load().then((newest) => {
      if (!live || stopped) return;
      const query = new URLSearchParams({ level, contains, requestId });
      // Lines after the newest shown: none lost between the read and the tail.
      if (newest !== undefined) query.set('sinceMs', String(newest + 1));
      tail = new EventSource(`/api/functions/${fn}/tail?${query}`);
      tail.addEventListener('line', (event) => {
        const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
        setLines((shown) => [...shown.slice(-(MAX_SHOWN - 1)), line]);
      });
    });
    return () => {
      stopped = true;
      tail?.close();
    };
  }, [fn, level, contains, requestId, live]);
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <form class="row" onSubmit={(e) => e.preventDefault()} aria-label="Log filters">
        <label>
          Function{' '}
          <select value={fn} onChange={(e) => setFn(e.currentTarget.value)}>
            {functions.map((f) => (
              <option value={`${f.namespace}/${f.name}`}>
                {f.namespace}/{f.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Level at least{' '}
          <select value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            {LEVELS.map((l) => (
              <option value={l}>{l || 'any'}</option>
            ))}
          </select>
        </label>
        <label>
          Text <input value={contains} onInput={(e) => setContains(e.currentTarget.value)} />
        </label>
        <label>
          Request id{' '}
          <input
            name="requestId"
            value={requestId}
            onInput={(e) => setRequestId(e.currentTarget.value.trim())}
          />
        </label>
        <label>
          <input
            type="checkbox"
            checked={live}
            onChange={(e) => setLive(e.currentTarget.checked)}
          />{' '}
          live
        </label>
      </form>
      {error && <p role="alert">{error}</p>}
      <table class="logs" aria-label="Log lines">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Level</th>
            <th scope="col">Sandbox</th>
            <th scope="col">Request id</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => (
            <tr class={`level-${l.level}`}>
              <td>{new Date(l.timeMs).toISOString().slice(11, 23)}</td>
              <td>{l.level}</td>
              <td>{l.sandbox}</td>
              <td>
                <code>{l.requestId || '–'}</code>
              </td>
              <td class="message">{l.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {lines.length === 0 && !error && <p>No lines match.</p>}
    </section>
  );
}
