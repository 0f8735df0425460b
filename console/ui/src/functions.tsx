// Functions: each SandboxDeployment with its replicas and its figures from the
// gateways, updated at every scrape.
import type { Snapshot } from '../../view-types.ts';
import type { Filters } from './app.tsx';
import { ago, millis, percent, rate, useNow } from './format.ts';

export function FunctionsView({ snapshot, filters }: { snapshot: Snapshot; filters: Filters }) {
  const now = useNow();
  const functions = snapshot.functions.filter(
    (f) => !filters.namespace || f.namespace === filters.namespace,
  );
  return (
    <section aria-labelledby="functions-title">
      <h2 id="functions-title">Functions</h2>
      <table class="functions">
        <thead>
          <tr>
            <th scope="col">Function</th>
            <th scope="col">Runtime</th>
            <th scope="col">Ready / desired</th>
            <th scope="col">Requests/s</th>
            <th scope="col">Errors</th>
            <th scope="col">p50</th>
            <th scope="col">p99</th>
            <th scope="col">Cold starts (1 h)</th>
            <th scope="col">In flight</th>
            <th scope="col">Queued events</th>
            <th scope="col">Last invocation</th>
          </tr>
        </thead>
        <tbody>
          {functions.map((f) => (
            <tr data-function={`${f.namespace}/${f.name}`}>
              <th scope="row">
                <a href={`#/functions/${f.namespace}/${f.name}`}>
                  {f.namespace}/{f.name}
                </a>
              </th>
              <td>{f.runtime}</td>
              <td class="replicas">
                {f.ready} / {f.desired}
              </td>
              <td class="num">{rate(f.figures.rps)}</td>
              <td class="num">{percent(f.figures.errorRate)}</td>
              <td class="num">{millis(f.figures.p50Ms)}</td>
              <td class="num">{millis(f.figures.p99Ms)}</td>
              <td class="num">{f.figures.coldStartsHour}</td>
              <td class="num">{f.figures.inFlight}</td>
              <td class="num queued">{f.figures.queuedEvents}</td>
              <td class="last-invocation">{ago(f.figures.lastInvocationAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {functions.length === 0 && (
        <p>No functions{filters.namespace ? ` in ${filters.namespace}` : ''}.</p>
      )}
    </section>
  );
}
