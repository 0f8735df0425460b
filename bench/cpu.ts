// CPU time of this process and its children (the control plane), read from
// /proc, so that a benchmark can say where the cores went: to Roost, or to
// the API server and etcd.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** Process name (comm) to CPU seconds used so far. */
  byName: Map<string, number>;
  at: number;
}

/** CPU seconds (user and system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The pids of a process's direct children. */
export function children(pid: number): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(' ').map(Number));
    } catch {
      // The thread ended while we looked.
    }
  }
  return pids;
}

export function sampleCpu(): CpuSample {
  const byName = new Map<string, number>();
  const add = (name: string, seconds: number) =>
    byName.set(name, (byName.get(name) ?? 0) + seconds);
  add('roost (bench + scheduler)', cpuSeconds(process.pid));
  for (const pid of children(process.pid)) {
    try {
      add(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), cpuSeconds(pid));
    } catch {
      // Exited.
    }
  }
  return { byName, at: Date.now() };
}

/** Cores used by each process between two samples. */
export function coresBetween(before: CpuSample, after: CpuSample): Map<string, number> {
  const seconds = (after.at - before.at) / 1000;
  const cores = new Map<string, number>();
  for (const [name, used] of after.byName)
    cores.set(name, (used - (before.byName.get(name) ?? 0)) / seconds);
  return cores;
}

/** CPU seconds used so far by a process and all its descendants (0 for one that is gone). */
export function treeCpuSeconds(pid: number): number {
  try {
    return cpuSeconds(pid) + children(pid).reduce((sum, child) => sum + treeCpuSeconds(child), 0);
  } catch {
    return 0;
  }
}
