import type { Socket } from 'node:net';

/** Without a socket timeout set (serve sets one), a transfer without progress fails after this. */
const DEFAULT_IDLE_MS = 60_000;
/** How often (at most) progress re-arms the socket's idle timer (and at least 4 × per timeout). */
const REFRESH_MS = 1_000;

/**
 * The idle limit for a transfer that bypasses Node's own reads or writes on `socket` (sendfile
 * and splice), and a progress callback that re-arms Node's idle timer, which only sees I/O made
 * through Node: a long transfer must not be cut off as idle.
 *
 * @example
 * const idle = idleWatch(socket);
 * await sendFileToSocket(addon, fd, file, 0, size, { idleMs: idle.idleMs, onProgress: idle.progress });
 */
export function idleWatch(socket: Socket): { idleMs: number; progress: () => void } {
  const timeout = socket.timeout ?? 0;
  const refreshEvery = Math.min(REFRESH_MS, timeout / 4);
  let refreshed = performance.now();
  return {
    idleMs: timeout > 0 ? timeout : DEFAULT_IDLE_MS,
    progress: () => {
      const now = performance.now();
      if (timeout > 0 && now - refreshed >= refreshEvery && !socket.destroyed) {
        refreshed = now;
        socket.setTimeout(timeout);
      }
    },
  };
}
