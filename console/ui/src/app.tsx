// The shell: who is logged in, the live connection, the navigation between
// views (in the URL's hash, so that a view can be linked and reloaded), and
// the namespace and pool filters that every view shares.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, useSnapshot } from './api.ts';
import { FunctionDetailView } from './function-detail.tsx';
import { FunctionsView } from './functions.tsx';
import { HostsView } from './hosts.tsx';
import { LoginView } from './login.tsx';
import { LogsView } from './logs.tsx';
import { PackingView } from './packing.tsx';

export interface Filters {
  namespace: string;
  pool: string;
}

function useRoute(): string[] {
  const read = () =>
    location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

const VIEWS = [
  ['packing', 'Packing'],
  ['functions', 'Functions'],
  ['logs', 'Logs'],
  ['hosts', 'Hosts and components'],
] as const;

export function App() {
  const [session, setSession] = useState<'unknown' | 'in' | 'out'>('unknown');
  useEffect(() => {
    api('/api/session').then(
      () => setSession('in'),
      (err: unknown) => setSession(err instanceof ApiError && err.status === 401 ? 'out' : 'in'),
    );
  }, []);
  const { snapshot, connection } = useSnapshot(session === 'in');
  const route = useRoute();
  const [filters, setFilters] = useState<Filters>({ namespace: '', pool: '' });

  if (session === 'unknown') return <main class="centered">Loading…</main>;
  if (session === 'out' || connection === 'logged-out')
    return <LoginView onLogin={() => setSession('in')} />;

  const view = route[0] ?? 'packing';
  return (
    <div class="shell">
      <header>
        <h1>Roost</h1>
        <nav aria-label="Views">
          {VIEWS.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={view === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="filters">
          <label>
            Namespace{' '}
            <select
              value={filters.namespace}
              onChange={(e) => setFilters({ ...filters, namespace: e.currentTarget.value })}
            >
              <option value="">all</option>
              {snapshot?.namespaces.map((ns) => (
                <option value={ns}>{ns}</option>
              ))}
            </select>
          </label>
          <label>
            Pool{' '}
            <select
              value={filters.pool}
              onChange={(e) => setFilters({ ...filters, pool: e.currentTarget.value })}
            >
              <option value="">all</option>
              {snapshot?.pools.map((p) => (
                <option value={p}>{p}</option>
              ))}
            </select>
          </label>
        </div>
        <p class={`connection ${connection}`} role="status" aria-live="polite">
          {connection === 'live' ? '● live' : connection}
          {snapshot?.viewer.name ? ` · ${snapshot.viewer.name}` : ''}
        </p>
      </header>
      <main>
        {!snapshot ? (
          <p>Waiting for the first snapshot…</p>
        ) : view === 'packing' ? (
          <PackingView snapshot={snapshot} filters={filters} />
        ) : view === 'functions' && route.length === 3 ? (
          <FunctionDetailView snapshot={snapshot} namespace={route[1]!} name={route[2]!} />
        ) : view === 'functions' ? (
          <FunctionsView snapshot={snapshot} filters={filters} />
        ) : view === 'logs' ? (
          <LogsView snapshot={snapshot} filters={filters} initial={route.slice(1)} />
        ) : view === 'hosts' ? (
          <HostsView snapshot={snapshot} />
        ) : (
          <p>No such view.</p>
        )}
      </main>
    </div>
  );
}
