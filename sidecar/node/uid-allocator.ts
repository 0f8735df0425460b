// User ids for function processes, one per process slot, so that the kernel
// (not only Node's permission model) refuses a function another function's
// files and signals. Ids come from a range and are claimed machine-wide by
// creating a file named for the id in a claims directory with O_EXCL: several
// sidecars on one machine (roost dev and the tests play many host pods as
// local processes) must never hand out the same id, and a claim file is
// atomic without any daemon. A claim is released only once nothing of its id
// remains (the process has exited and its slot is gone); a claim whose
// sidecar has died is taken over only when no process runs under that id.
import { processExists } from '../../lib/process.ts';
import {
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { RoostError } from '../../lib/errors.ts';

export interface UidRange {
  first: number;
  /** Inclusive. */
  last: number;
}

/** 2,000,000 upwards: far from system users, from the usual subuid ranges (100000+65536) and from container images' users. */
export const DEFAULT_UID_RANGE: UidRange = { first: 2_000_000, last: 2_065_535 };

export class UidRangeExhaustedError extends RoostError {
  constructor(range: UidRange) {
    super(
      'ROOST_UID_RANGE_EXHAUSTED',
      `Cannot start a function process: every user id in ${range.first}-${range.last} is in use; widen --function-uid-range`,
    );
  }
}

export class InvalidUidRangeError extends RoostError {
  constructor(text: string) {
    super(
      'ROOST_INVALID_UID_RANGE',
      `Cannot use the user id range "${text}": write it as FIRST-LAST, two ids above 0 with FIRST <= LAST`,
    );
  }
}

export function parseUidRange(text: string): UidRange {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const first = Number(match?.[1]);
  const last = Number(match?.[2]);
  if (!match || first < 1 || last < first || last > 0xfffffffe)
    throw new InvalidUidRangeError(text);
  return { first, last };
}

export interface UidAllocatorOptions {
  range?: UidRange;
  /** Machine-wide claim files (default /run/roost/uids). */
  claimsDir?: string;
}

export class UidAllocator {
  readonly range: UidRange;
  readonly #claimsDir: string;
  /**
   * Where the next search starts. It moves on after every allocation, so a
   * released id comes back only after the whole range has been handed out:
   * anything of it that survived unseen has long been cleaned by then.
   */
  #cursor: number;

  constructor(options: UidAllocatorOptions = {}) {
    this.range = options.range ?? DEFAULT_UID_RANGE;
    this.#claimsDir = options.claimsDir ?? '/run/roost/uids';
    mkdirSync(this.#claimsDir, { recursive: true, mode: 0o700 });
    // A random start spreads sidecars over the range, so they rarely probe each other's claims.
    const size = this.range.last - this.range.first + 1;
    this.#cursor = this.range.first + Math.floor(Math.random() * size);
  }

  /**
   * Claims an unused id; throws UidRangeExhaustedError. `slotDir` is where
   * the user's files will be (a directory named slot-…): it is written into
   * the claim, so that whoever takes the claim over after this sidecar died
   * removes those files before the id serves anyone else.
   */
  allocate(slotDir?: string): number {
    const size = this.range.last - this.range.first + 1;
    for (let tried = 0; tried < size; tried++) {
      const uid = this.#cursor;
      this.#cursor = uid === this.range.last ? this.range.first : uid + 1;
      if (this.#claim(uid, slotDir)) return uid;
    }
    throw new UidRangeExhaustedError(this.range);
  }

  /** Gives an id back; call only once no process and no file of it remains. */
  release(uid: number): void {
    rmSync(join(this.#claimsDir, String(uid)), { force: true });
  }

  #claim(uid: number, slotDir: string | undefined): boolean {
    const path = join(this.#claimsDir, String(uid));
    if (this.#claimFresh(path, slotDir)) return true;
    const stale = this.#staleSlot(path, uid);
    if (stale === undefined) return false;
    // What the dead sidecar's function left on disk goes first.
    if (stale && basename(stale).startsWith('slot-'))
      rmSync(stale, { recursive: true, force: true });
    // Removed and claimed afresh with O_EXCL. Two sidecars reclaiming the
    // same stale id in the same instant could both win; claims go stale only
    // when a sidecar died without cleaning up and the cursors start at random
    // points, so that race is left open rather than paid for with a lock.
    rmSync(path, { force: true });
    return this.#claimFresh(path, slotDir);
  }

  #claimFresh(path: string, slotDir: string | undefined): boolean {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n${slotDir ?? ''}\n`);
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    }
  }

  /**
   * A claim is stale when its sidecar is gone and no process runs under its
   * id: then the slot it names ('' if none), else undefined.
   */
  #staleSlot(path: string, uid: number): string | undefined {
    let owner: number;
    let slot: string;
    try {
      const [pid = '', dir = ''] = readFileSync(path, 'utf8').split('\n');
      owner = Number(pid);
      slot = dir;
    } catch {
      return undefined;
    }
    if (owner === process.pid) return undefined;
    if (owner > 0 && processExists(owner)) return undefined;
    return processesOfUser(uid) ? undefined : slot;
  }
}

/** True if any process on this machine runs with real uid `uid` (read from /proc). */
export function processesOfUser(uid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid) return true;
    } catch {
      // It exited while we looked.
    }
  }
  return false;
}
