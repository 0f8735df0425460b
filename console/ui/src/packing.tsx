// Packing: every host pod as a box of its capacity, holding its Sandboxes as
// blocks sized by the memory they request and coloured by state; below, the
// Sandboxes no host pod took, with the scheduler's reason.
import type { HostView, SandboxView, Snapshot } from '../../view-types.ts';
import type { Filters } from './app.tsx';
import { mib } from './format.ts';

const STATES = ['running', 'hibernated', 'starting', 'failed', 'terminating', 'pending'] as const;

export function PackingView({ snapshot, filters }: { snapshot: Snapshot; filters: Filters }) {
  const hosts = snapshot.hosts.filter((h) => !filters.pool || h.pool === filters.pool);
  const inNamespace = (s: SandboxView) => !filters.namespace || s.namespace === filters.namespace;
  const unplaced = snapshot.unplaced.filter(inNamespace);
  const total = hosts.reduce((sum, h) => sum + h.capacity.memoryMiB, 0);
  const used = hosts.reduce((sum, h) => sum + h.used.memoryMiB, 0);
  return (
    <section aria-labelledby="packing-title">
      <h2 id="packing-title">Packing</h2>
      <p class="summary">
        {hosts.length} host pods ·{' '}
        {hosts.reduce((n, h) => n + h.sandboxes.length + h.hidden.count, 0)} Sandboxes · {mib(used)}{' '}
        of {mib(total)} requested · {unplaced.length} not placed
      </p>
      <ul class="legend" aria-label="Legend">
        {STATES.map((state) => (
          <li>
            <span class={`swatch ${state}`} aria-hidden="true" /> {state}
          </li>
        ))}
      </ul>
      <div class="hosts">
        {hosts.map((host) => (
          <HostBox host={host} show={inNamespace} />
        ))}
      </div>
      <h3>Not placed</h3>
      {unplaced.length === 0 ? (
        <p>Every Sandbox has a host pod.</p>
      ) : (
        <table class="unplaced">
          <thead>
            <tr>
              <th scope="col">Sandbox</th>
              <th scope="col">Memory</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {unplaced.map((s) => (
              <tr>
                <td>
                  {s.namespace}/{s.name}
                </td>
                <td>{mib(s.memoryMiB)}</td>
                <td>{s.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function HostBox({ host, show }: { host: HostView; show: (s: SandboxView) => boolean }) {
  const capacity = Math.max(host.capacity.memoryMiB, 1);
  const usedPct = Math.min(100, (host.used.memoryMiB / capacity) * 100);
  const sandboxes = host.sandboxes.filter(show);
  const rss = host.sandboxes.reduce((sum, s) => sum + (s.rssBytes ?? 0), 0);
  return (
    <article
      class={`host ${host.ready ? '' : 'unready'}`}
      aria-label={`Host pod ${host.name}`}
      data-host={host.name}
    >
      <header>
        <h3>{host.name}</h3>
        <span class="tag">{host.ready ? 'ready' : (host.reason ?? 'not ready')}</span>
        {host.pool && <span class="tag">pool {host.pool}</span>}
        <span class="tag">{host.runtimes.join(', ')}</span>
      </header>
      <div
        class="meter"
        role="meter"
        aria-label={`Memory requested on ${host.name}`}
        aria-valuemin={0}
        aria-valuemax={capacity}
        aria-valuenow={host.used.memoryMiB}
      >
        <div style={{ width: `${usedPct}%` }} />
      </div>
      <p class="figures">
        memory {mib(host.used.memoryMiB)} used, {mib(host.free.memoryMiB)} free of{' '}
        {mib(host.capacity.memoryMiB)}
        {rss > 0 && ` · ${mib(rss / 1048576)} resident`} · CPU {host.used.cpuMillis}m used
        {host.free.cpuMillis !== null && `, ${host.free.cpuMillis}m free`}
      </p>
      <ul class="sandboxes" aria-label={`Sandboxes on ${host.name}`}>
        {sandboxes.map((s) => (
          <li
            class={`sandbox ${s.state}`}
            style={{ flexBasis: `calc(${(s.memoryMiB / capacity) * 100}% - 2px)` }}
            title={`${s.namespace}/${s.name}: ${s.state}, ${mib(s.memoryMiB)}${s.reason ? `, ${s.reason}` : ''}`}
            data-sandbox={`${s.namespace}/${s.name}`}
          >
            <a href={s.deployment ? `#/functions/${s.namespace}/${s.deployment}` : undefined}>
              <span class="name">{s.deployment ?? s.name}</span>
              <span class="mem" aria-hidden="true">
                {mib(s.memoryMiB)}
              </span>
              <span class="sr-only">
                {' '}
                {s.namespace}/{s.name}, {s.state}, {mib(s.memoryMiB)}
              </span>
            </a>
          </li>
        ))}
        {host.hidden.count > 0 && (
          <li
            class="sandbox hidden"
            style={{ flexBasis: `${(host.hidden.memoryMiB / capacity) * 100}%` }}
          >
            {host.hidden.count} of other namespaces
          </li>
        )}
      </ul>
      {host.javaFunctions.length > 0 && (
        <p class="figures">JVM bridge: {host.javaFunctions.join(', ')}</p>
      )}
    </article>
  );
}
