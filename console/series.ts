// A bounded time series: the newest `capacity` samples of a few named values,
// kept in fixed typed arrays so that memory is known up front (a function's
// last hour at the console's scrape interval) and never grows with uptime.

export interface Sample {
  /** Unix milliseconds. */
  t: number;
  values: Record<string, number>;
}

export class RingSeries {
  readonly names: readonly string[];
  readonly capacity: number;
  readonly #times: Float64Array;
  readonly #columns: Float32Array[];
  #next = 0;
  #size = 0;

  constructor(names: readonly string[], capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(
        `Cannot make a series: capacity must be a positive integer, not ${capacity}`,
      );
    this.names = names;
    this.capacity = capacity;
    this.#times = new Float64Array(capacity);
    this.#columns = names.map(() => new Float32Array(capacity));
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a sample, dropping the oldest once full. A value not given is NaN (a gap in a chart). */
  push(t: number, values: Record<string, number>): void {
    this.#times[this.#next] = t;
    this.names.forEach((name, i) => (this.#columns[i]![this.#next] = values[name] ?? NaN));
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** Oldest first, as columns: { t: [...], rps: [...], ... }, NaN as null (JSON has no NaN). */
  columns(): Record<string, (number | null)[]> {
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    const pick = (array: Float32Array | Float64Array) =>
      Array.from({ length: this.#size }, (_, i) => {
        const value = array[(start + i) % this.capacity]!;
        return Number.isNaN(value) ? null : value;
      });
    const out: Record<string, (number | null)[]> = { t: pick(this.#times) };
    this.names.forEach((name, i) => (out[name] = pick(this.#columns[i]!)));
    return out;
  }

  /** Sum of one value over the samples newer than `since` (NaN counts as 0). */
  sumSince(name: string, since: number): number {
    const column = this.#columns[this.names.indexOf(name)];
    if (!column) return 0;
    let sum = 0;
    for (let i = 0; i < this.#size; i++) {
      const at = (this.#next - 1 - i + this.capacity) % this.capacity;
      if (this.#times[at]! <= since) break;
      const value = column[at]!;
      if (!Number.isNaN(value)) sum += value;
    }
    return sum;
  }
}
