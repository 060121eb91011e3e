/**
 * The two limits that make every upload end: no body byte for `idleMs` (a stalled or slow-loris
 * client), and the whole body not in by `deadlineMs` after the PUT began (a client that trickles
 * just often enough never to be idle). Without them, one slot's PUT holds a descriptor, a temp
 * file and its quota reservation for as long as the client likes.
 *
 * One timer per upload, re-armed only when it fires (progress just notes the time): a chunk costs
 * a clock read, not a timer reset.
 *
 * Idle time is the client's only while the store waits for the body (`reading(true)`): while the
 * store is busy with what it has (a slow disk, a slow S3, the upload memory budget) the client's
 * bytes wait in the socket, and a fast client on a slow server is not cut off as idle.
 */

/** Why an upload was cut off; the PUT answers 408 with `message`. */
export class UploadTimeoutError extends Error {
  readonly kind: 'idle' | 'deadline';
  constructor(kind: 'idle' | 'deadline', ms: number) {
    super(
      kind === 'idle'
        ? `no data received for ${Math.round(ms / 1000)} s`
        : `upload too slow: not complete within ${Math.round(ms / 1000)} s`,
    );
    this.name = 'UploadTimeoutError';
    this.kind = kind;
  }
}

/** A running watch: note progress, stop it once the body is in or the upload ended. */
export interface UploadWatch {
  /** A body byte arrived: the idle time starts again. */
  progress(): void;
  /** The store waits for the body (true) or is busy with what it has (false: no idle time). */
  reading(waiting: boolean): void;
  /** No more judging (body complete, or the upload ended). */
  stop(): void;
  /** How long (ms) since the last body byte (or the start); 0 once stopped. */
  idleFor(): number;
}

/**
 * Calls `onTimeout` once, with an UploadTimeoutError, when the upload has been idle for `idleMs`
 * or has run `deadlineMs` since this call (Infinity or ≤ 0: that limit is off).
 *
 * @example
 * const watch = watchUpload({ idleMs: settings.idleTimeout, deadlineMs: uploadDeadline(size, rate), onTimeout: (e) => ac.abort(e) });
 * body.on('data', () => watch.progress());
 * try { await store.write(meta, body, { signal: ac.signal }); } finally { watch.stop(); }
 */
export function watchUpload(options: {
  idleMs: number;
  deadlineMs: number;
  onTimeout: (err: UploadTimeoutError) => void;
  /** Clock in ms (tests); default performance.now. */
  now?: () => number;
}): UploadWatch {
  const { onTimeout } = options;
  const now = options.now ?? (() => performance.now());
  const idleMs = options.idleMs > 0 && Number.isFinite(options.idleMs) ? options.idleMs : Infinity;
  const deadlineMs = options.deadlineMs > 0 && Number.isFinite(options.deadlineMs) ? options.deadlineMs : Infinity;
  const started = now();
  let last = started;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const check = (): void => {
    timer = undefined;
    if (stopped) return;
    const t = now();
    const idleLeft = busy ? idleMs : last + idleMs - t;
    const deadlineLeft = started + deadlineMs - t;
    if (deadlineLeft <= 0) return expire(new UploadTimeoutError('deadline', deadlineMs));
    if (idleLeft <= 0) return expire(new UploadTimeoutError('idle', idleMs));
    arm(Math.min(idleLeft, deadlineLeft));
  };
  const arm = (ms: number): void => {
    // setTimeout takes at most 2^31-1 ms: a longer wait is re-armed when it fires.
    if (Number.isFinite(ms)) timer = setTimeout(check, Math.min(Math.ceil(ms), 2 ** 31 - 1));
  };
  const expire = (err: UploadTimeoutError): void => {
    stopped = true;
    onTimeout(err);
  };
  arm(Math.min(idleMs, deadlineMs));

  return {
    progress() {
      last = now();
    },
    reading(waiting) {
      if (waiting === !busy) return;
      busy = !waiting;
      // The wait for the client starts now.
      if (waiting) last = now();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    idleFor() {
      return stopped || busy ? 0 : now() - last;
    },
  };
}
