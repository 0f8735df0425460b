// The snapshot one viewer gets: functions and Sandboxes of the namespaces they
// may see; on a shared host pod, other namespaces' Sandboxes are counted (the
// pod's fullness is no secret to its tenants) but not named.
import type { Snapshot } from './view-types.ts';

export function viewFor(snapshot: Snapshot, visible: Set<string>, viewer: string): Snapshot {
  return {
    ...snapshot,
    namespaces: snapshot.namespaces.filter((ns) => visible.has(ns)),
    hosts: snapshot.hosts.map((host) => {
      const shown = host.sandboxes.filter((s) => visible.has(s.namespace));
      const hidden = host.sandboxes.filter((s) => !visible.has(s.namespace));
      return {
        ...host,
        sandboxes: shown,
        hidden: {
          count: hidden.length,
          memoryMiB: hidden.reduce((sum, s) => sum + s.memoryMiB, 0),
        },
        javaFunctions: host.javaFunctions.filter((f) => visible.has(f.split('/')[0]!)),
      };
    }),
    unplaced: snapshot.unplaced.filter((s) => visible.has(s.namespace)),
    functions: snapshot.functions.filter((f) => visible.has(f.namespace)),
    extras: snapshot.extras.filter((e) => visible.has(e.namespace)),
    viewer: { name: viewer },
  };
}
