// Hosts and components: the controller's leader, the gateways (with when the
// console last read their figures), and each host pod's sidecar with its
// Lease age, image, isolation and JVM bridge (its functions and heap).
import type { HostView, Snapshot } from '../../view-types.ts';
import { ago, useNow } from './format.ts';

export function HostsView({ snapshot }: { snapshot: Snapshot }) {
  const { controller, gateways, sidecars, optionalKinds } = snapshot.components;
  const now = useNow(1000);
  return (
    <section aria-labelledby="hosts-title">
      <h2 id="hosts-title">Hosts and components</h2>
      <h3>Controller</h3>
      <p>
        Leader: <strong>{controller.leader ?? 'none'}</strong> · Lease renewed{' '}
        {ago(controller.leaseRenewedAt, now)}
      </p>
      <h3>Gateways</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Gateway</th>
            <th scope="col">URL</th>
            <th scope="col">Lease renewed</th>
            <th scope="col">Figures read</th>
          </tr>
        </thead>
        <tbody>
          {gateways.map((g) => (
            <tr>
              <td>{g.name}</td>
              <td>{g.url}</td>
              <td>{ago(g.leaseRenewedAt, now)}</td>
              <td>{g.error ? `failing: ${g.error}` : ago(g.scrapedAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Sidecars</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Host pod</th>
            <th scope="col">Lease renewed</th>
            <th scope="col">Image</th>
            <th scope="col">Isolation</th>
            <th scope="col">JVM bridge functions</th>
            <th scope="col">JVM heap</th>
          </tr>
        </thead>
        <tbody>
          {sidecars.map((s) => (
            <tr>
              <td>
                {s.namespace}/{s.pod}
              </td>
              <td>{ago(s.leaseRenewedAt, now)}</td>
              <td>{s.version ?? '–'}</td>
              <td>{s.isolation ?? '–'}</td>
              <td>
                {snapshot.hosts.find((h) => h.name === s.pod)?.javaFunctions.join(', ') || '–'}
              </td>
              <td class="jvm-heap">
                {jvmHeap(snapshot.hosts.find((h) => h.name === s.pod)?.javaBridge)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>Optional kinds installed: {optionalKinds.length ? optionalKinds.join(', ') : 'none'}.</p>
    </section>
  );
}

function jvmHeap(bridge: HostView['javaBridge']): string {
  if (!bridge) return '–';
  const max = bridge.heapMaxMiB === null ? '' : ` of ${bridge.heapMaxMiB}`;
  return `${bridge.heapUsedMiB}${max} MiB, ${bridge.loadedSandboxes} loaded`;
}
