/**
 * A lock for maintenance jobs (purge, slots rm) that works between processes and between nodes
 * that share the repository folder (NFS, CephFS): no flock/fcntl, which network filesystems
 * implement unreliably, only operations that are atomic on them.
 *
 * - Acquire: create `{path}` with O_CREAT|O_EXCL. The file holds the owner (host, pid, start,
 *   heartbeat, random token), space-padded to a fixed size.
 * - Hold: every `heartbeat` ms the owner rewrites the heartbeat through its own open handle, after
 *   checking that `{path}` still carries its token. If not, the lock was taken over: `signal`
 *   aborts and assertHeld() throws LockLostError.
 * - Stale: a lock whose heartbeat is older than `lease` (clocks of the nodes must agree within a
 *   small part of the lease: use NTP), or whose owner ran on this very machine (same host name,
 *   boot and pid namespace) and whose pid is gone, e.g. after a crash or kill -9.
 * - Take over: a contender that finds a stale lock creates `{path}.break` with O_EXCL (so only
 *   one breaks at a time), re-reads the lock, deletes it only if it is still the owner it judged
 *   stale, removes the breaker and competes for a fresh O_EXCL create like everyone else. A lock
 *   another contender has just taken is therefore never removed. A breaker left by a contender
 *   that died mid-break is ignored after 30 s.
 * - A holder paused for longer than the lease (SIGSTOP, VM freeze) may be overtaken; assertHeld()
 *   therefore refuses to go on when its last confirmed heartbeat is older than half the lease, and
 *   callers check it before each destructive step.
 */
import { constants, readFileSync, readlinkSync } from 'node:fs';
import { lstat, mkdir, open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { errCode } from '../errno.ts';

/** Who holds a lock, as written in the lock file. */
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
  /** Stops the heartbeat and removes the lock file (if it is still ours). */
  release(): Promise<void>;
}

/** Fixed size of the lock file, so a heartbeat rewrite never leaves stale bytes behind. */
const FILE_SIZE = 1024;
const DEFAULT_LEASE = 120_000;

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

function encode(owner: LockOwner): Buffer {
  const json = Buffer.from(JSON.stringify(owner) + '\n');
  if (json.length > FILE_SIZE) throw new RangeError('lock owner too large');
  const buf = Buffer.alloc(FILE_SIZE, 0x20);
  json.copy(buf);
  return buf;
}

/**
 * Modes of lock files and the folders made for them (before the umask): the service's alone, like
 * the rest of the repository. Every node and maintenance command runs as the service user.
 */
const LOCK_MODE = 0o600;
const LOCK_FOLDER_MODE = 0o700;

async function readOwner(path: string): Promise<{ owner: LockOwner | undefined; mtime: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), lstat(path)]);
    return { owner: parseOwner(text), mtime: st.mtimeMs };
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the lock at `path` or throws LockHeldError. Creates the parent folder when missing.
 *
 * @example
 * const lock = await acquireLock(join(repo, 'locks', 'purge.lock'), { command: 'purge' });
 * try { lock.assertHeld(); await work(lock.signal); } finally { await lock.release(); }
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const lease = options.lease ?? DEFAULT_LEASE;
  const beat = options.heartbeat ?? Math.max(1, Math.floor(lease / 4));
  await mkdir(dirname(path), { recursive: true, mode: LOCK_FOLDER_MODE });
  const token = randomBytes(12).toString('base64url');
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = now();
    const owner = newOwner(options, started, token);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_NOFOLLOW, LOCK_MODE);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    if (fh) {
      try {
        await fh.write(encode(owner), 0, FILE_SIZE, 0);
        await fh.sync();
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw err;
      }
      return hold(path, fh, owner, { lease, beat, now });
    }
    const current = await readOwner(path);
    if (!current) continue; // released meanwhile: try again
    const { owner: held, mtime } = current;
    // A file without a valid owner is a lock whose creator died between create and write: stale
    // once it is older than the lease (judged by its mtime).
    const stale = held ? isStale(held, now(), lease) : now() - mtime > lease;
    if (!stale) throw new LockHeldError(path, held);
    if (!(await takeOver(path, token, held, mtime, now, lease)))
      throw new LockHeldError(path, (await readOwner(path))?.owner);
  }
  throw new LockHeldError(path, (await readOwner(path))?.owner);
}

/** A breaker file older than this belongs to a contender that died while breaking (ms). */
const BREAKER_STALE = 30_000;

/**
 * Removes a stale lock. Only the contender that creates `{path}.break` (O_EXCL) may break; it
 * re-reads the lock and deletes it only if it is still the very owner judged stale. So a lock
 * that a faster contender has just taken is never removed. Returns true when the caller should
 * compete for the lock again, false when the lock is (now) held by someone alive.
 */
async function takeOver(
  path: string,
  token: string,
  judged: LockOwner | undefined,
  judgedMtime: number,
  now: () => number,
  lease: number,
): Promise<boolean> {
  const breaker = `${path}.break`;
  let fh: FileHandle;
  try {
    fh = await open(
      breaker,
      constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
      LOCK_MODE,
    );
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
    // Someone else is breaking it right now — or died doing so, long ago.
    const st = await lstat(breaker).catch(() => undefined);
    if (st && now() - st.mtimeMs > BREAKER_STALE) {
      await unlink(breaker).catch(() => {});
      return true;
    }
    return false;
  }
  try {
    await fh.write(token);
    await fh.close();
    const current = await readOwner(path);
    if (!current) return true;
    const same =
      judged === undefined
        ? current.owner === undefined && current.mtime === judgedMtime
        : current.owner !== undefined && current.owner.token === judged.token && isStale(current.owner, now(), lease);
    if (!same) return false;
    await unlink(path).catch((err: unknown) => {
      if (errCode(err) !== 'ENOENT') throw err;
    });
    return true;
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

function hold(
  path: string,
  fh: FileHandle,
  owner: LockOwner,
  opts: { lease: number; beat: number; now: () => number },
): HeldLock {
  const controller = new AbortController();
  let confirmed = owner.heartbeat;
  let released = false;
  let beating: Promise<void> | undefined;

  const lose = (): void => {
    if (!controller.signal.aborted) controller.abort(new LockLostError(path));
  };
  const renew = async (): Promise<void> => {
    const at = opts.now();
    const seen = await readOwner(path).catch(() => undefined);
    if (seen?.owner?.token !== owner.token) {
      lose();
      return;
    }
    owner.heartbeat = at;
    await fh.write(encode(owner), 0, FILE_SIZE, 0);
    confirmed = at;
  };
  const timer = setInterval(() => {
    if (beating || released) return;
    beating = renew()
      .catch(() => lose())
      .finally(() => {
        beating = undefined;
      });
  }, opts.beat);
  timer.unref();

  return {
    path,
    owner,
    signal: controller.signal,
    assertHeld() {
      if (controller.signal.aborted || released) throw new LockLostError(path);
      if (opts.now() - confirmed > opts.lease / 2) {
        lose();
        throw new LockLostError(path);
      }
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await beating;
      try {
        const seen = await readOwner(path);
        if (seen?.owner?.token === owner.token) await unlink(path).catch(() => {});
      } finally {
        await fh.close().catch(() => {});
      }
    },
  };
}

/**
 * Reads who holds the lock at `path`, if anyone (for status output); `stale` says whether a new
 * acquirer would take it over.
 *
 * @example
 * const info = await lockInfo(join(repo, 'locks', 'purge.lock'));
 */
export async function lockInfo(
  path: string,
  lease = DEFAULT_LEASE,
): Promise<{ owner: LockOwner | undefined; stale: boolean } | undefined> {
  const current = await readOwner(path);
  if (!current) return undefined;
  const now = Date.now();
  return {
    owner: current.owner,
    stale: current.owner ? isStale(current.owner, now, lease) : now - current.mtime > lease,
  };
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

/**
 * What the file at `path` is, for a sweep; undefined when there is none.
 *
 * @example
 * const entry = await inspectLock(join(repo, 'claims', `${id}.claim`), 60_000);
 */
export async function inspectLock(path: string, lease = DEFAULT_LEASE): Promise<LockEntry | undefined> {
  const current = await readOwner(path);
  if (!current) return undefined;
  const { owner, mtime } = current;
  return {
    state: owner ? 'held' : 'damaged',
    owner,
    stale: owner ? isStale(owner, Date.now(), lease) : Date.now() - mtime > lease,
    modified: mtime,
  };
}
