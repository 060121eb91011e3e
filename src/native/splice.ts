import { STEP_BLOCKED, STEP_DONE, STEP_EOF, errnoError, onDuplicate, type SendfileAddon } from './sendfile.ts';

/**
 * Drives the addon's spliceStep: the rest of an upload body moved from the connection's socket
 * into the temp file inside the kernel (socket → pipe → page cache), without a user-space buffer
 * per read. A 1 GiB upload read through Node arrives as 16,000+ fresh 64 KiB buffers, each
 * copied, handed through streams and promises, and collected by V8 — about a second of the main
 * thread per GiB on this machine; spliced, the main thread only sees one callback per step.
 */

/**
 * Options of `spliceFromSocket`.
 *
 * @example
 * const options: SpliceOptions = { idleMs: 120_000, signal: ac.signal, onProgress: (n) => {} };
 */
export interface SpliceOptions {
  /** Fail with ETIMEDOUT after this long without a byte arriving (default 60 s). */
  idleMs?: number;
  /** Stops between steps (a step in flight finishes first: ≤ maxStep bytes or ~10 ms). */
  signal?: AbortSignal;
  /** Called after each step that moved something, with the bytes that step moved. */
  onProgress?: (moved: number) => void;
}

/** Longest pause between steps while the client sends nothing (see the backoff below). */
const MAX_BACKOFF_MS = 50;

/**
 * Moves exactly `length` bytes from the TCP socket `socketFd` into `fileFd` at `offset`. Rejects
 * with code ECONNRESET when the client closes its side first, ETIMEDOUT after `idleMs` without a
 * byte, an errno error of splice (ENOSPC: disk full), or the signal's reason; bytes moved until
 * then are in the file. Nothing else may read the socket meanwhile (the caller stopped Node's
 * reading). The socket is used through a duplicate taken now, so call this in the same tick as
 * checking the socket is alive; neither descriptor is closed.
 *
 * @example
 * await spliceFromSocket(addon, tcpFd, fd, position, rest, { signal, onProgress });
 */
export function spliceFromSocket(
  addon: SendfileAddon,
  socketFd: number,
  fileFd: number,
  offset: number,
  length: number,
  options: SpliceOptions = {},
): Promise<void> {
  const { signal, onProgress } = options;
  const idleMs = options.idleMs ?? 60_000;
  const spliceStep = addon.spliceStep;
  if (!spliceStep) return Promise.reject(new Error('the native addon has no spliceStep'));
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (length === 0) return Promise.resolve();
  return onDuplicate<void>(addon, socketFd, (from, settle) => {
    let moved = 0;
    let lastProgress = performance.now();
    let idle = 0;
    const finish = (err?: unknown): void => settle(err, undefined);
    const step = (): void => {
      if (signal?.aborted) return finish(signal.reason);
      spliceStep(from, fileFd, offset + moved, length - moved, (errno, n, state) => {
        moved += n;
        if (n > 0) {
          lastProgress = performance.now();
          onProgress?.(n);
        }
        if (errno !== 0) return finish(errnoError(errno, 'splice'));
        if (moved >= length) return finish();
        if (state === STEP_EOF) {
          const err = new Error(`client closed the connection after ${moved} of ${length} bytes`);
          return finish(Object.assign(err, { code: 'ECONNRESET' }));
        }
        if (state === STEP_DONE || n > 0) {
          idle = 0;
          return setImmediate(step); // the client keeps up: go on (after other I/O had its turn)
        }
        if (state !== STEP_BLOCKED) return finish(new Error(`splice: unknown step state ${state}`));
        if (performance.now() - lastProgress >= idleMs) {
          return finish(Object.assign(new Error(`splice: nothing received for ${idleMs} ms`), { code: 'ETIMEDOUT' }));
        }
        // Nothing to read: Node is no longer watching this socket, so look again after growing
        // pauses (a slow client costs a few cheap steps a second, and never a waiting thread).
        idle++;
        setTimeout(step, Math.min(2 ** (idle - 1), MAX_BACKOFF_MS));
      });
    };
    step();
  });
}
