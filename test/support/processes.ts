// The processes under a process, read from /proc as `ps --ppid` would: how a
// test finds the JVM a sidecar started, to kill it as a crash would.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), ppid, command });
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

/** Every process below `pid` (children, their children, ...). */
export function descendants(pid: number): ProcessInfo[] {
  const all = processes();
  const below: ProcessInfo[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop()!;
    for (const child of all.filter((p) => p.ppid === parent)) {
      below.push(child);
      parents.push(child.pid);
    }
  }
  return below;
}
