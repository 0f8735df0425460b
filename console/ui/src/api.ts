// The browser's side of the console API: the live snapshot over server-sent
// events, and JSON requests for details and actions.
import { useEffect, useState } from 'preact/hooks';
import type { Snapshot } from '../../view-types.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, data?.message ?? `HTTP ${response.status}`);
  return data as T;
}

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'logged-out';

/** The newest snapshot, kept current by the server's pushes. */
export function useSnapshot(enabled: boolean): {
  snapshot: Snapshot | undefined;
  connection: Connection;
} {
  const [snapshot, setSnapshot] = useState<Snapshot>();
  const [connection, setConnection] = useState<Connection>('connecting');
  useEffect(() => {
    if (!enabled) return;
    const source = new EventSource('/api/stream');
    source.addEventListener('snapshot', (event) => {
      setSnapshot(JSON.parse((event as MessageEvent<string>).data) as Snapshot);
      setConnection('live');
    });
    source.onerror = () => {
      // EventSource retries by itself; a 401 closes it for good.
      if (source.readyState === EventSource.CLOSED) setConnection('logged-out');
      else setConnection('reconnecting');
    };
    return () => source.close();
  }, [enabled]);
  return { snapshot, connection };
}
