import { constants as osConstants } from 'node:os';
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
  /** Stops while waiting for the client at once, else after the step in flight (≤ maxStep bytes). */
  signal?: AbortSignal;
  /** Called after each step that moved something, with the bytes that step moved. */
  onProgress?: (moved: number) => void;
}

/** ECANCELED: a wait ended by stopWaiting (an abort, a sweep). */
const CANCELLED = osConstants.errno.ECANCELED;
/**
 * The socket wakes us once this much is queued (SO_RCVLOWAT, or the rest of the body when less):
 * a client that sends in small pieces costs one step per batch, not one per piece.
 */
const WAKE_BYTES = 1024 * 1024;
/**
 * A wait is ended this often (or 8 times per idleMs, if more often) to take what is queued below
 * WAKE_BYTES: a client that trickles still shows progress to the upload's own idle watch, at
 * most this late, and a stalled one is seen.
 */
const SWEEP_MS = 250;

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
  const { spliceStep, waitReadable, stopWaiting, setLowWater } = addon;
  if (!spliceStep || !waitReadable || !stopWaiting || !setLowWater)
    return Promise.reject(new Error('the native addon has no spliceStep and waitReadable'));
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (length === 0) return Promise.resolve();
  return onDuplicate<void>(addon, socketFd, (from, settle) => {
    let moved = 0;
    let lastProgress = performance.now();
    let waiting = false;
    let mark = 0; // the low-water mark set on the socket
    // Both end a wait for the client; the next step then looks at the signal and the idle time
    // (a step in flight finishes first).
    const wake = (): void => void (waiting && stopWaiting(from));
    const sweep = setInterval(wake, Math.min(SWEEP_MS, idleMs / 8));
    signal?.addEventListener('abort', wake, { once: true });
    const finish = (err?: unknown): void => {
      clearInterval(sweep);
      signal?.removeEventListener('abort', wake);
      // Whoever reads the socket next (bytes past the body) must see them as they come.
      if (mark > 1) lowWater(1);
      settle(err, undefined);
    };
    const lowWater = (bytes: number): void => {
      try {
        setLowWater(from, bytes);
        mark = bytes;
      } catch {
        // Only fewer batches: the socket then wakes us for every piece.
      }
    };
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
        if (state === STEP_DONE) return setImmediate(step); // the client keeps up: go on (after other I/O had its turn)
        if (state !== STEP_BLOCKED) return finish(new Error(`splice: unknown step state ${state}`));
        if (performance.now() - lastProgress >= idleMs) {
          return finish(Object.assign(new Error(`splice: nothing received for ${idleMs} ms`), { code: 'ETIMEDOUT' }));
        }
        if (signal?.aborted) return finish(signal.reason);
        // Nothing to read: Node's event loop watches the socket until the client has sent a
        // batch, so a slow client costs one wake-up per batch and never a waiting thread.
        const wanted = Math.min(WAKE_BYTES, length - moved);
        if (wanted !== mark) lowWater(wanted);
        waiting = true;
        waitReadable(from, (err) => {
          waiting = false;
          if (err !== 0 && err !== CANCELLED) return finish(errnoError(err, 'poll'));
          step();
        });
      });
    };
    step();
  });
}
