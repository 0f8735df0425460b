// Kubernetes resource quantities ("512Mi", "1.5Gi", "250m", "2") as numbers.

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity as a plain number (bytes for memory, cores for CPU); throws on a malformed one. */
export function parseQuantity(quantity: string): number {
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(quantity.trim());
  const value = match ? Number(match[1]) : NaN;
  const suffix = match?.[2] ?? '';
  const scale = BINARY[suffix] ?? DECIMAL[suffix];
  if (!match || Number.isNaN(value) || scale === undefined)
    throw new TypeError(`Cannot parse quantity "${quantity}"`);
  return value * scale;
}
