import { useEffect, useState } from 'preact/hooks';

/** The time now, re-rendering every `everyMs`: for "5 s ago" labels while no push arrives. */
export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function mib(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} GiB` : `${Math.round(n)} MiB`;
}

export function millis(n: number | null): string {
  if (n === null) return '–';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
}

export function rate(n: number): string {
  return n === 0 ? '0' : n < 0.1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : Math.round(n).toString();
}

export function percent(n: number): string {
  return n === 0 ? '0%' : `${(n * 100).toFixed(n < 0.01 ? 2 : 1)}%`;
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
