// One function: its figures over the last hour, its scaling timeline, its
// revisions, routes and triggers (when installed), its recent Events, a scale
// control and an invoke box that shows the answer and that request's log lines.
import { useEffect, useState } from 'preact/hooks';
import type { ExtraObjectView, FunctionDetail, InvokeResult, Snapshot } from '../../view-types.ts';
import { api } from './api.ts';
import { Chart } from './chart.tsx';
import { millis, percent, rate } from './format.ts';

export function FunctionDetailView({
  snapshot,
  namespace,
  name,
}: {
  snapshot: Snapshot;
  namespace: string;
  name: string;
}) {
  const fn = snapshot.functions.find((f) => f.namespace === namespace && f.name === name);
  const [detail, setDetail] = useState<FunctionDetail>();
  const [error, setError] = useState('');
  // Refreshed with the snapshot, at most every few seconds.
  const tick = Math.floor(snapshot.at / 5000);
  useEffect(() => {
    api<FunctionDetail>(`/api/functions/${namespace}/${name}`).then(setDetail, (err: Error) =>
      setError(err.message),
    );
  }, [namespace, name, tick]);
  if (!fn)
    return (
      <p role="alert">
        No function {namespace}/{name}: it was deleted, or you may not see it.
      </p>
    );
  const s = detail?.series ?? { t: [] };
  const extras = snapshot.extras.filter((e) => e.namespace === namespace && e.function === name);
  return (
    <section aria-labelledby="fn-title" class="detail">
      <h2 id="fn-title">
        {namespace}/{name}
      </h2>
      <p class="summary">
        {fn.runtime} · {fn.handler} · {fn.ready} ready of {fn.desired} desired ·{' '}
        {rate(fn.figures.rps)} req/s · {percent(fn.figures.errorRate)} errors · p50{' '}
        {millis(fn.figures.p50Ms)} · p99 {millis(fn.figures.p99Ms)}
      </p>
      {error && <p role="alert">{error}</p>}
      <ScaleForm namespace={namespace} name={name} desired={fn.desired} />
      <div class="charts">
        <Chart
          title="Requests per second"
          times={s.t!}
          series={[{ label: 'req/s', values: s.rps ?? [], color: '#1f5fbf' }]}
        />
        <Chart
          title="Errors (% of requests)"
          times={s.t!}
          series={[
            {
              label: 'errors %',
              values: (s.errors ?? []).map((v) => (v === null ? null : v * 100)),
              color: '#b3261e',
            },
          ]}
        />
        <Chart
          title="Latency (ms)"
          times={s.t!}
          series={[
            { label: 'p50', values: s.p50 ?? [], color: '#2e7d32' },
            { label: 'p99', values: s.p99 ?? [], color: '#8e24aa' },
          ]}
        />
        <Chart
          title="Scaling"
          times={s.t!}
          series={[
            { label: 'desired', values: s.desired ?? [], color: '#1f5fbf' },
            { label: 'ready', values: s.ready ?? [], color: '#2e7d32' },
            { label: 'in flight', values: s.inFlight ?? [], color: '#c25e00' },
            { label: 'queued events', values: s.queued ?? [], color: '#6d4c41' },
          ]}
        />
      </div>
      <InvokeBox namespace={namespace} name={name} />
      <h3>Revisions</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">ReplicaSet</th>
            <th scope="col">Ready / replicas</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {detail?.revisions.map((r) => (
            <tr>
              <td>{r.revision}</td>
              <td>{r.name}</td>
              <td>
                {r.ready} / {r.replicas}
              </td>
              <td>{r.createdAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Routes and triggers</h3>
      {snapshot.components.optionalKinds.length === 0 ? (
        <p>No route or trigger kinds are installed in this cluster.</p>
      ) : extras.length === 0 ? (
        <p>None for this function ({snapshot.components.optionalKinds.join(', ')} installed).</p>
      ) : (
        <ul class="extras">
          {extras.map((e) => (
            <li data-extra={`${e.kind}/${e.name}`}>
              <strong>
                {e.kind} {e.name}
              </strong>{' '}
              {e.ready !== undefined && (
                <span class={e.ready ? 'ok' : 'not-ready'}>{e.ready ? 'ready' : 'not ready'}</span>
              )}{' '}
              <span class="summary">{e.summary}</span>
              {e.reason && <div class="reason">{e.reason}</div>}
              {e.split && e.split.length > 0 && <SplitBar split={e.split} />}
              {e.kind === 'SandboxRoute' && e.targets && (
                <TrafficForm
                  key={JSON.stringify(e.targets)}
                  namespace={namespace}
                  name={name}
                  route={e.name}
                  targets={e.targets}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <h3>Recent events</h3>
      {detail?.events.length ? (
        <table class="events">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Count</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {detail.events.map((e) => (
              <tr class={e.type === 'Warning' ? 'warning' : ''}>
                <td>{e.type}</td>
                <td>{e.reason}</td>
                <td>{e.message}</td>
                <td>{e.count}</td>
                <td>{e.lastSeen}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No recent events.</p>
      )}
    </section>
  );
}

function ScaleForm({
  namespace,
  name,
  desired,
}: {
  namespace: string;
  name: string;
  desired: number;
}) {
  const [replicas, setReplicas] = useState(String(desired));
  const [message, setMessage] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(`/api/functions/${namespace}/${name}/scale`, {
        method: 'POST',
        body: { replicas: Number(replicas) },
      });
      setMessage(`Scaled to ${replicas}`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <form class="inline" onSubmit={submit} aria-label="Scale">
      <label>
        Replicas{' '}
        <input
          type="number"
          min={0}
          max={1000}
          value={replicas}
          onInput={(e) => setReplicas(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Scale</button>
      <span role="status">{message}</span>
    </form>
  );
}

function InvokeBox({ namespace, name }: { namespace: string; name: string }) {
  const [mode, setMode] = useState<'http' | 'event'>('http');
  const [method, setMethod] = useState('POST');
  const [path, setPath] = useState('');
  const [body, setBody] = useState('');
  const [result, setResult] = useState<InvokeResult>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      setResult(
        await api<InvokeResult>(`/api/functions/${namespace}/${name}/invoke`, {
          method: 'POST',
          body: { mode, method, path, body },
        }),
      );
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="invoke" aria-labelledby="invoke-title">
      <h3 id="invoke-title">Invoke</h3>
      <form onSubmit={submit}>
        <fieldset>
          <legend>Send as</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'http'}
              onChange={() => setMode('http')}
            />{' '}
            HTTP request
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'event'}
              onChange={() => setMode('event')}
            />{' '}
            event (CloudEvent, JSON data)
          </label>
        </fieldset>
        {mode === 'http' && (
          <div class="row">
            <label>
              Method{' '}
              <select value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                  <option>{m}</option>
                ))}
              </select>
            </label>
            <label class="grow">
              Path and query{' '}
              <input
                value={path}
                placeholder="/items?name=Roost"
                onInput={(e) => setPath(e.currentTarget.value)}
              />
            </label>
          </div>
        )}
        <label for="invoke-body">Body{mode === 'event' ? ' (JSON)' : ''}</label>
        <textarea
          id="invoke-body"
          rows={4}
          value={body}
          onInput={(e) => setBody(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Invoking…' : 'Invoke'}
        </button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {result && (
        <div class="result" aria-live="polite">
          <p>
            HTTP <strong class="status">{result.status}</strong> in {result.durationMs} ms · request
            id <code class="request-id">{result.requestId}</code>{' '}
            <a href={`#/logs/${namespace}/${name}/${result.requestId}`}>its logs</a>
          </p>
          <pre class="response">{result.body}</pre>
          <h4>Log lines of this invocation</h4>
          {result.logs.length === 0 ? (
            <p>None printed.</p>
          ) : (
            <pre class="invocation-logs">
              {result.logs
                .map(
                  (l) =>
                    `${new Date(l.timeMs).toISOString()} ${l.level.toUpperCase()} ${l.message}`,
                )
                .join('\n')}
            </pre>
          )}
        </div>
      )}
    </section>
  );
}

const SPLIT_COLOURS = ['#1f5fbf', '#c25e00', '#2e7d32', '#8e24aa', '#6d4c41'];

/** A route's split as one bar: a segment per revision, as wide as its share. */
function SplitBar({ split }: { split: NonNullable<ExtraObjectView['split']> }) {
  return (
    <div
      class="split"
      role="img"
      aria-label={split.map((t) => `revision ${t.revision} ${t.percent}%`).join(', ')}
    >
      {split.map((t, i) => (
        <span
          class="split-segment"
          data-revision={t.revision}
          style={{
            width: `${t.percent}%`,
            background: SPLIT_COLOURS[i % SPLIT_COLOURS.length],
          }}
          title={`revision ${t.revision}: ${t.percent}%${t.tag ? ` (tag ${t.tag})` : ''}${
            t.readySandboxes !== undefined ? `, ${t.readySandboxes} ready` : ''
          }`}
        >
          {t.percent >= 10 ? `r${t.revision} ${t.percent}%` : ''}
        </span>
      ))}
    </div>
  );
}

/** Changes a route's percents, keeping what each target names (a revision, or the latest). */
function TrafficForm({
  namespace,
  name,
  route,
  targets,
}: {
  namespace: string;
  name: string;
  route: string;
  targets: NonNullable<ExtraObjectView['targets']>;
}) {
  const [percents, setPercents] = useState(targets.map((t) => String(t.percent)));
  const [message, setMessage] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(`/api/functions/${namespace}/${name}/traffic`, {
        method: 'POST',
        body: { route, targets: targets.map((t, i) => ({ ...t, percent: Number(percents[i]) })) },
      });
      setMessage('Split set');
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <form class="inline traffic" onSubmit={submit} aria-label={`Traffic of ${route}`}>
      {targets.map((t, i) => (
        <label>
          {t.latestRevision ? 'latest' : `revision ${t.revision}`}
          {t.tag ? ` (${t.tag})` : ''}{' '}
          <input
            type="number"
            min={0}
            max={100}
            value={percents[i]}
            onInput={(e) => {
              const next = [...percents];
              next[i] = e.currentTarget.value;
              setPercents(next);
            }}
          />
          %
        </label>
      ))}
      <button type="submit">Set split</button>
      <span role="status">{message}</span>
    </form>
  );
}
