/**
 * Cross-node locks, behind one interface: a folder every node shares (fs.ts: O_EXCL files) or an
 * S3 bucket (s3.ts: conditional PUTs). purge, `slots rm`, slot claims and the cluster's component
 * lease take their locks through a LockSpace, so they work on either. The rules both share:
 *
 * - Owner: a lock holds who took it (host, pid, start, heartbeat, random token); the holder
 *   renews the heartbeat every `heartbeat` ms.
 * - Stale: a lock whose heartbeat is older than `lease` (clocks of the nodes must agree within a
 *   small part of the lease: use NTP), or whose owner ran on this very machine (same host name,
 *   boot and pid namespace) and whose pid is gone, e.g. after a crash or kill -9. A stale lock is
 *   taken over by the next acquirer.
 * - A holder paused for longer than the lease (SIGSTOP, VM freeze) may be overtaken; assertHeld()
 *   therefore refuses to go on when its last confirmed heartbeat is older than half the lease, and
 *   callers check it before each destructive step.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { errCode } from '../errno.ts';

/** Who holds a lock, as written in the lock. */
export interface LockOwner {
  /** Host name, for people. */
  host: string;
  /** host/boot id/pid namespace: equal only for processes that can see each other's pids. */
  machine: string;
  pid: number;
  /** What holds it, e.g. "purge" or "slots rm". */
  command: string;
  /** When the lock was taken (ms since epoch). */
  started: number;
  /** Last renewal (ms since epoch). */
  heartbeat: number;
  /** Random token of this holding. */
  token: string;
  /**
   * After this instant (ms since epoch) nobody takes this lock anew — a slot claim's slot has
   * expired by then — so once nobody holds it, a sweep may remove it without a race.
   */
  until?: number;
}

/**
 * Another process holds the lock (exit code 3 in the CLI).
 *
 * @example
 * if (err instanceof LockHeldError) console.error(`busy: ${err.owner?.command} on ${err.owner?.host}`);
 */
export class LockHeldError extends Error {
  readonly owner: LockOwner | undefined;
  readonly path: string;
  constructor(path: string, owner: LockOwner | undefined) {
    super(
      owner
        ? `${owner.command} (pid ${owner.pid} on ${owner.host}, since ${new Date(owner.started).toISOString()}) holds the lock ${path}`
        : `another process holds the lock ${path}`,
    );
    this.name = 'LockHeldError';
    this.owner = owner;
    this.path = path;
  }
}

/**
 * This process no longer holds the lock (it was overtaken after a long pause).
 *
 * @example
 * lock.assertHeld(); // throws LockLostError
 */
export class LockLostError extends Error {
  constructor(path: string) {
    super(`lost the lock ${path} (another process took it over)`);
    this.name = 'LockLostError';
  }
}

export interface LockOptions {
  /** Written into the lock for `LockHeldError` messages and status output. */
  command?: string;
  /** A lock without a heartbeat for this long is stale (ms). Default 120000. */
  lease?: number;
  /** Renewal interval (ms). Default lease / 4. */
  heartbeat?: number;
  /** Clock (tests). */
  now?: () => number;
  /** Written into the lock as LockOwner.until. */
  until?: number;
}

/** A held lock. */
export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Aborts when the lock is lost. */
  readonly signal: AbortSignal;
  /** Throws LockLostError unless the lock is certainly still ours. Cheap: no I/O. */
  assertHeld(): void;
  /** Stops the heartbeat and gives the lock back (if it is still ours). */
  release(): Promise<void>;
}

/** A lock without a heartbeat for this long is stale (ms), unless the caller says otherwise. */
export const DEFAULT_LEASE = 120_000;

/** The lease, renewal interval and clock of one lock, with LockOptions' defaults filled in. */
export interface LockTiming {
  lease: number;
  beat: number;
  now: () => number;
}

/**
 * LockOptions' timing with the defaults: the lease DEFAULT_LEASE, a renewal every quarter of it.
 *
 * @example
 * const { lease, now } = lockTiming(options);
 */
export function lockTiming(options: LockOptions): LockTiming {
  const lease = options.lease ?? DEFAULT_LEASE;
  return { lease, beat: options.heartbeat ?? Math.max(1, Math.floor(lease / 4)), now: options.now ?? Date.now };
}

/** What a backend does with the owner record of a lock it holds; holdLock() runs the rest. */
export interface LockRecord {
  /**
   * Writes `heartbeat` into the owner record: true when written, false when the lock is no
   * longer ours. A rejection is a failure that the next beat tries again.
   */
  beat(heartbeat: number): Promise<boolean>;
  /** Gives the lock back, once no beat is in flight; `lost` when the lock was lost meanwhile. */
  drop(lost: boolean): Promise<void>;
  /**
   * true: once no beat has been confirmed for half the lease, the lock counts as lost without
   * waiting for assertHeld(), and no beat follows a loss; for a store whose beats fail now and
   * then and are retried (S3). false: beats go on until release.
   */
  expireUnconfirmed: boolean;
}

/**
 * Holds a lock its backend has just taken: renews it every `timing.beat` ms through
 * `record.beat()` (one beat at a time), aborts `signal` when a beat finds the lock no longer
 * ours, applies the pause rule in assertHeld() and, on release, stops the beats and waits for
 * the one in flight before `record.drop()`.
 *
 * @example
 * return holdLock(path, owner, fileRecord(path, fh, owner), lockTiming(options));
 */
export function holdLock(path: string, owner: LockOwner, record: LockRecord, timing: LockTiming): HeldLock {
  const { lease, beat, now } = timing;
  const controller = new AbortController();
  let confirmed = owner.heartbeat;
  let released = false;
  let beating: Promise<void> | undefined;
  const lose = (): void => {
    if (!controller.signal.aborted) controller.abort(new LockLostError(path));
  };
  const renew = async (): Promise<void> => {
    const at = now();
    if (await record.beat(at)) {
      owner.heartbeat = at;
      confirmed = at;
    } else lose();
  };
  const timer = setInterval(() => {
    if (released) return;
    if (record.expireUnconfirmed) {
      if (controller.signal.aborted) return;
      // Beats that keep failing (store unreachable): after half the lease another node may soon
      // judge the lock stale, so the holder stops as assertHeld() would.
      if (now() - confirmed > lease / 2) return lose();
    }
    if (beating) return;
    beating = renew()
      .catch(() => {})
      .finally(() => {
        beating = undefined;
      });
  }, beat);
  timer.unref();
  return {
    path,
    owner,
    signal: controller.signal,
    assertHeld() {
      if (controller.signal.aborted || released) throw new LockLostError(path);
      if (now() - confirmed > lease / 2) {
        lose();
        throw new LockLostError(path);
      }
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await beating;
      await record.drop(controller.signal.aborted);
    },
  };
}

let machineId: string | undefined;
/**
 * Identifies the pid space of this process: equal machine ids mean a pid in the lock can be
 * checked with kill(pid, 0) here.
 *
 * @example
 * thisMachine(); // 'node1/6a0f…/pid:[4026531836]'
 */
export function thisMachine(): string {
  if (machineId === undefined) {
    const read = (p: string): string => {
      try {
        return readFileSync(p, 'utf8').trim();
      } catch {
        return '?';
      }
    };
    let pidns = '?';
    try {
      pidns = readlinkSync('/proc/self/ns/pid');
    } catch {
      // not Linux: the host name and boot id must do
    }
    machineId = `${hostname()}/${read('/proc/sys/kernel/random/boot_id')}/${pidns}`;
  }
  return machineId;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

/**
 * The owner record a new lock attempt writes: this process, started now, with the attempt's token.
 *
 * @example
 * const owner = newOwner({ command: 'purge' }, Date.now(), token);
 */
export function newOwner(options: Pick<LockOptions, 'command' | 'until'>, started: number, token: string): LockOwner {
  return {
    host: hostname(),
    machine: thisMachine(),
    pid: process.pid,
    command: options.command ?? 'fileupload',
    started,
    heartbeat: started,
    token,
    ...(options.until !== undefined ? { until: options.until } : {}),
  };
}

/**
 * Parses a lock file's content; undefined when it is not a lock (empty or damaged).
 *
 * @example
 * parseOwner(await readFile(path, 'utf8'));
 */
export function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner> | null;
    if (
      o &&
      typeof o.token === 'string' &&
      typeof o.heartbeat === 'number' &&
      typeof o.pid === 'number' &&
      typeof o.started === 'number' &&
      typeof o.host === 'string' &&
      typeof o.machine === 'string'
    ) {
      const owner: LockOwner = {
        host: o.host,
        machine: o.machine,
        pid: o.pid,
        command: String(o.command ?? '?'),
        started: o.started,
        heartbeat: o.heartbeat,
        token: o.token,
      };
      if (typeof o.until === 'number' && Number.isFinite(o.until)) owner.until = o.until;
      return owner;
    }
  } catch {
    // damaged
  }
  return undefined;
}

/**
 * True when `owner` no longer holds the lock: heartbeat older than the lease, or a dead process
 * on this machine.
 *
 * @example
 * isStale(owner, Date.now(), 120_000);
 */
export function isStale(owner: LockOwner, now: number, lease: number, machine = thisMachine()): boolean {
  if (now - owner.heartbeat > lease) return true;
  return owner.machine === machine && !pidAlive(owner.pid);
}

/** A lock as a sweep sees it (LockSpace.inspect). */
export interface LockEntry {
  /**
   * held: written by an owner (fresh or stale); released: a released version (S3 only: a
   * released lock file is gone); damaged: not a lock (half-written, or a `.break` file).
   */
  state: 'held' | 'released' | 'damaged';
  /** The owner written in it, also in a released version. */
  owner: LockOwner | undefined;
  /** A held lock that a new acquirer would take over. */
  stale: boolean;
  /** Last change as the store saw it (ms since epoch). */
  modified: number | undefined;
}

/** A place locks are taken in; names are relative paths such as `locks/purge.lock`. */
export interface LockSpace {
  /** Where the locks are, for messages and logs. */
  readonly location: string;
  /** Takes the lock `name` or throws LockHeldError (exit code 3 in the CLI). */
  acquire(name: string, options?: LockOptions): Promise<HeldLock>;
  /** Who holds `name`, if anyone, and whether a new acquirer would take it over. */
  info(name: string, lease?: number): Promise<{ owner: LockOwner | undefined; stale: boolean } | undefined>;
  /** Where the lock `name` is (path or s3:// key), for messages. */
  where(name: string): string;
  /** The names under `folder` (e.g. `claims/x.claim`, `claims/x.claim.break`), for a sweep. */
  list(folder: string): AsyncIterable<string>;
  /** What `name` is now, for a sweep; undefined when there is none. */
  inspect(name: string, lease?: number): Promise<LockEntry | undefined>;
  /**
   * Removes `name` whoever holds it; false when it was already gone (as far as the store
   * tells). Without a precondition (S3 stores do not all honour one on DELETE): only for a lock
   * nobody can take any more (see src/purge/claim-sweep.ts).
   */
  remove(name: string): Promise<boolean>;
}

/** The lock that purge and `slots rm` share. */
export const MAINTENANCE_LOCK = 'locks/purge.lock';
/** The cluster's component lease. */
export const COMPONENT_LEASE = 'cluster/component.lease';
