import { closeSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import * as sea from 'node:sea';

/**
 * Loads the sendfile(2) addon (src/native/sendfile.c) and drives it from JS. Large downloads
 * sent with it skip the copy through a user-space buffer; everything still works without it
 * (the store's buffered path), so every failure here is an answer, never a crash.
 */

/**
 * What src/native/sendfile.c exports.
 *
 * @example
 * addon.sendfileStep(out, fd, 0, size, (errno, sent, state) => { ... });
 */
export interface SendfileAddon {
  /**
   * Queues one step on the libuv thread pool: at most `maxStep` bytes of `inFd` from `offset`
   * into the non-blocking socket `outFd`. `errno` is 0 or the failing call's errno; `state` is
   * STEP_DONE, STEP_BLOCKED (socket full for ~10 ms: call again later) or STEP_EOF.
   */
  sendfileStep(
    outFd: number,
    inFd: number,
    offset: number,
    length: number,
    callback: (errno: number, sent: number, state: number) => void,
  ): void;
  /**
   * Queues one upload step on the thread pool: at most `maxStep` bytes from the non-blocking
   * socket `inFd` into the file `outFd` at `offset`, by splice(2). STEP_BLOCKED: nothing more to
   * read for now; STEP_EOF: the client closed its side. See src/native/splice.ts.
   */
  spliceStep?(
    inFd: number,
    outFd: number,
    offset: number,
    length: number,
    callback: (errno: number, moved: number, state: number) => void,
  ): void;
  /**
   * Calls back once the socket `fd` has something to read or its peer hung up (`errno` 0), when
   * `stopWaiting(fd)` ends the wait (ECANCELED), or with the poll's errno. Watched on Node's
   * event loop: no thread waits. One wait per descriptor at a time. See src/native/splice.ts.
   */
  waitReadable?(fd: number, callback: (errno: number) => void): void;
  /**
   * The socket's SO_RCVLOWAT: readable only with `bytes` queued (or at its end); 1 is the
   * default. Throws when the descriptor refuses it.
   */
  setLowWater?(fd: number, bytes: number): void;
  /** Ends the wait on `fd` (its callback runs with ECANCELED before this returns); false when none. */
  stopWaiting?(fd: number): boolean;
  /**
   * One non-blocking sendmsg(2) on the calling thread: `head` (latin1) followed by `length` bytes
   * of `body` from `offset`. Returns how many bytes the socket took (0 when it is full) or minus
   * the errno. See src/http/send-now.ts.
   */
  sendNow?(fd: number, head: string, body: Uint8Array, offset: number, length: number): number;
  /** A close-on-exec duplicate of `fd`; throws when `fd` is not open. */
  dup(fd: number): number;
  /** The most one step sends, in bytes. */
  readonly maxStep: number;
  /**
   * renameat2(from, to, RENAME_NOREPLACE) on the thread pool; `errno` 0 when renamed, EEXIST
   * when `to` exists (nothing moved). See src/native/rename.ts.
   */
  renameNoReplace?(from: string, to: string, callback: (errno: number) => void): void;
  /**
   * One thread-pool job for the end of an upload: fdatasync(fd) when `durable` (stage 1),
   * close(fd) (stage 2), renameNoReplace(from, to) (stage 3). `fd` is closed when the callback
   * runs, whatever happened. See src/native/rename.ts.
   */
  finishUpload?(
    fd: number,
    durable: boolean,
    from: string,
    to: string,
    callback: (errno: number, stage: number) => void,
  ): void;
  /**
   * One thread-pool job: the next (at most `max`) regular files of the open directory `dirFd`
   * and the first `headBytes` bytes of each, into `out`. See src/native/scan.ts.
   */
  scanDir?(
    dirFd: number,
    max: number,
    headBytes: number,
    out: Uint8Array,
    callback: (errno: number, count: number, end: boolean) => void,
  ): void;
}

/**
 * The addon, or why there is none.
 *
 * @example
 * const got: SendfileLoad = loadSendfile();
 * const addon = got.addon; // undefined: see got.reason
 */
export type SendfileLoad = { addon: SendfileAddon; from: string } | { addon: undefined; reason: string };

/** The SEA asset key under which `npm run build` embeds the compiled addon. */
export const SENDFILE_ASSET = 'sendfile.node';

/** Where the source checkout's build puts the addon (`scripts/build/native.ts`). */
export const CHECKOUT_ADDON = fileURLToPath(new URL('../../dist/native/sendfile.node', import.meta.url));

/** The environment switch: `FILEUPLOAD_SENDFILE=0` keeps downloads on the buffered path. */
export const SENDFILE_ENV = 'FILEUPLOAD_SENDFILE';

/** A step's state, as src/native/sendfile.c reports it. */
export const STEP_DONE = 0;
export const STEP_BLOCKED = 1;
export const STEP_EOF = 2;

/**
 * Loads the addon: from `options.path` when given, else the single executable's embedded
 * asset, else the checkout's dist/native/sendfile.node. Never throws.
 *
 * @example
 * const got = loadSendfile();
 * if (!got.addon) logger.info('sendfile unavailable', { reason: got.reason });
 */
export function loadSendfile(options: { path?: string } = {}): SendfileLoad {
  try {
    if (options.path !== undefined) return openAddon(options.path);
    if (sea.isSea()) return fromSeaAsset();
    if (!existsSync(CHECKOUT_ADDON)) return { addon: undefined, reason: `${CHECKOUT_ADDON} not built (npm run build)` };
    return openAddon(CHECKOUT_ADDON);
  } catch (err) {
    return { addon: undefined, reason: `cannot load the sendfile addon: ${(err as Error).message}` };
  }
}

let shared: SendfileLoad | undefined;

/**
 * The process's addon (loaded once: the SEA copy is deleted after loading), unless
 * FILEUPLOAD_SENDFILE=0 in `env` turns the native path off (for comparison, or as an escape hatch).
 *
 * @example
 * const { addon } = processSendfile(); // addon undefined: use the buffered path
 */
export function processSendfile(env: NodeJS.ProcessEnv = process.env): SendfileLoad {
  if (env[SENDFILE_ENV] === '0') return { addon: undefined, reason: `disabled by ${SENDFILE_ENV}=0` };
  return processAddon();
}

/**
 * The process's addon for every use (the upload publish too), loaded once, whatever
 * FILEUPLOAD_SENDFILE says.
 *
 * @example
 * const rename = processAddon().addon?.renameNoReplace;
 */
export function processAddon(): SendfileLoad {
  return (shared ??= loadSendfile());
}

function openAddon(path: string): SendfileLoad {
  const mod: { exports: unknown } = { exports: {} };
  try {
    process.dlopen(mod, path, osConstants.dlopen.RTLD_NOW);
  } catch (err) {
    return { addon: undefined, reason: `cannot load ${path}: ${(err as Error).message}` };
  }
  const e = mod.exports as Partial<Record<keyof SendfileAddon, unknown>>;
  if (typeof e.sendfileStep !== 'function' || typeof e.dup !== 'function' || typeof e.maxStep !== 'number') {
    return { addon: undefined, reason: `${path} is not the sendfile addon` };
  }
  return { addon: mod.exports as SendfileAddon, from: path };
}

/**
 * The executable carries the addon as an asset; dlopen needs a file, so it is written to a fresh
 * private directory and removed right after loading (the mapping stays). Nobody else can swap
 * the file in between: the directory is 0700 and new.
 */
function fromSeaAsset(): SendfileLoad {
  let bytes: ArrayBuffer;
  try {
    bytes = sea.getRawAsset(SENDFILE_ASSET);
  } catch (err) {
    return { addon: undefined, reason: `no ${SENDFILE_ASSET} in the executable: ${(err as Error).message}` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fileupload-native-'));
  try {
    const file = join(dir, SENDFILE_ASSET);
    writeFileSync(file, new Uint8Array(bytes), { mode: 0o700, flag: 'wx' });
    const got = openAddon(file);
    // Say where it came from, not the path that no longer exists.
    return got.addon ? { addon: got.addon, from: `executable asset ${SENDFILE_ASSET}` } : got;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Options of `sendFileToSocket`.
 *
 * @example
 * const options: SendToSocketOptions = { idleMs: 120_000, signal: ac.signal };
 */
export interface SendToSocketOptions {
  /** Fail with ETIMEDOUT after this long without a byte going out (default 60 s). */
  idleMs?: number;
  /** Stops between steps (a step in flight finishes first: ≤ maxStep bytes or ~10 ms). */
  signal?: AbortSignal;
  /** Called after each step that sent something, with the total so far. */
  onProgress?: (sent: number) => void;
}

/** Longest pause between steps while the socket stays full (see the backoff below). */
const MAX_BACKOFF_MS = 20;

/**
 * Sends `length` bytes of `fileFd` from `offset` to the TCP socket `socketFd` with sendfile(2),
 * step by step on the thread pool. Resolves with the bytes sent: `length`, or fewer when the
 * file ended first (the caller decides what a short file means). Rejects with an errno error
 * (code EPIPE/ECONNRESET when the client went away), ETIMEDOUT after `idleMs` without
 * progress, or the signal's reason. Neither descriptor is closed; the socket is used through a
 * duplicate taken now, so call this in the same tick as checking the socket is alive.
 *
 * @example
 * const sent = await sendFileToSocket(addon, tcpFd, fd, 0, size, { signal });
 */
export function sendFileToSocket(
  addon: SendfileAddon,
  socketFd: number,
  fileFd: number,
  offset: number,
  length: number,
  options: SendToSocketOptions = {},
): Promise<number> {
  const { signal, onProgress } = options;
  const idleMs = options.idleMs ?? 60_000;
  if (signal?.aborted) return Promise.reject(signal.reason);
  let sent = 0;
  return onDuplicate<number>(addon, socketFd, (out, settle) => {
    let lastProgress = performance.now();
    let blocked = 0;
    const finish = (err?: unknown): void => settle(err, sent);
    const step = (): void => {
      if (signal?.aborted) return finish(signal.reason);
      addon.sendfileStep(out, fileFd, offset + sent, length - sent, (errno, n, state) => {
        sent += n;
        if (n > 0) {
          lastProgress = performance.now();
          onProgress?.(sent);
        }
        if (errno !== 0) return finish(errnoError(errno));
        if (sent >= length || state === STEP_EOF) return finish();
        if (state === STEP_DONE) {
          blocked = 0;
          return step(); // a full step: the client keeps up, go on at once
        }
        if (state !== STEP_BLOCKED) return finish(new Error(`sendfile: unknown step state ${state}`));
        if (performance.now() - lastProgress >= idleMs) {
          return finish(Object.assign(new Error(`sendfile: no progress for ${idleMs} ms`), { code: 'ETIMEDOUT' }));
        }
        // The socket stayed full: the client reads slower than we send. Wait on the event loop
        // (growing pauses, a thread-pool thread is not held meanwhile) rather than queueing
        // another step that would mostly sit in poll().
        blocked++;
        if (blocked === 1) setImmediate(step);
        else setTimeout(step, Math.min(2 ** (blocked - 2), MAX_BACKOFF_MS));
      });
    };
    step();
  });
}

/**
 * Runs `body` with a close-on-exec duplicate of `socketFd` and settles when `body` calls
 * `settle` (an error, or the value), closing the duplicate first. The steps work on a
 * duplicate: if Node closes the socket meanwhile, its number may be reused by another open(),
 * and a step must never move bytes to or from an unrelated descriptor.
 *
 * @example
 * return onDuplicate<number>(addon, socketFd, (fd, settle) => step(fd, (err) => settle(err, sent)));
 */
export function onDuplicate<T>(
  addon: Pick<SendfileAddon, 'dup'>,
  socketFd: number,
  body: (fd: number, settle: (err: unknown, value: T) => void) => void,
): Promise<T> {
  let fd: number;
  try {
    fd = addon.dup(socketFd);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<T>((resolve, reject) => {
    body(fd, (err, value) => {
      try {
        closeSync(fd);
      } catch {
        // Our own duplicate: nothing else can have closed it.
      }
      if (err === undefined) resolve(value);
      else reject(err);
    });
  });
}

/**
 * An Error like Node's own for a failed system call: code (EPIPE…), negative errno, syscall.
 *
 * @example
 * if (errno !== 0) return finish(errnoError(errno, 'sendfile'));
 */
export function errnoError(errno: number, syscall = 'sendfile'): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(-errno);
  } catch {
    code = `errno ${errno}`;
  }
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno: -errno, syscall });
}
