// What a host pod can hold: memory and CPU for Sandboxes, from the pod's own
// limits when it has them, else from its cgroup, else from the machine
// (systeminformation), unless the operator says otherwise.
import { readFileSync } from 'node:fs';
import si from 'systeminformation';
import type { Pod } from '../kube/api/core.ts';
import { parseQuantity } from '../kube/quantity.ts';

export interface Capacity {
  memoryMiB: number;
  cpuMillis: number;
  maxSandboxes: number;
}

export interface CapacityOverrides {
  memoryMiB?: number;
  cpuMillis?: number;
  maxSandboxes?: number;
}

const MiB = 1024 * 1024;

export async function discoverCapacity(
  pod: Pod,
  overrides: CapacityOverrides = {},
): Promise<Capacity> {
  const limits = pod.spec.containers.map((c) => c.resources?.limits ?? {});
  const sum = (resource: string, scale: number) => {
    const values = limits.map((l) => l[resource]).filter((v): v is string => v !== undefined);
    return values.length
      ? Math.floor(values.reduce((total, v) => total + parseQuantity(v), 0) / scale)
      : undefined;
  };
  const memoryMiB =
    overrides.memoryMiB ??
    sum('memory', MiB) ??
    cgroupMemoryMiB() ??
    Math.floor((await si.mem()).total / MiB);
  const cpuMillis =
    overrides.cpuMillis ?? sum('cpu', 1e-3) ?? cgroupCpuMillis() ?? (await si.cpu()).cores * 1000;
  // Without an explicit cap, the smallest Sandbox (16 MiB) bounds the count.
  const maxSandboxes = overrides.maxSandboxes ?? Math.max(1, Math.floor(memoryMiB / 16));
  return { memoryMiB, cpuMillis, maxSandboxes };
}

function cgroupMemoryMiB(): number | undefined {
  const max = readCgroup('memory.max');
  return max && max !== 'max' ? Math.floor(Number(max) / MiB) : undefined;
}

function cgroupCpuMillis(): number | undefined {
  const [quota, period] = (readCgroup('cpu.max') ?? 'max').split(' ');
  return quota && quota !== 'max' && period
    ? Math.floor((Number(quota) / Number(period)) * 1000)
    : undefined;
}

function readCgroup(file: string): string | undefined {
  try {
    return readFileSync(`/sys/fs/cgroup/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
