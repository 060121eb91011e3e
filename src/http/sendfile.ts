import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { sendFileToSocket, type SendfileAddon } from '../native/sendfile.ts';
import type { FileRangeSender } from '../storage/store.ts';
import { idleWatch } from './socket-idle.ts';
import { socketFd } from './node-internals.ts';

/**
 * The zero-copy download path: head through Node, body by sendfile(2) straight from the upload's
 * file into the connection's socket (src/native/sendfile.ts). Only for plain TCP (TLS needs the
 * bytes in user space) and large bodies (small ones are one write from memory anyway).
 */

/** Bodies from this size on go by sendfile; below it the step round trips are not worth it. */
export const SENDFILE_MIN_BYTES = 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * The socket of `res` when sendfile may write to it: open, not TLS, with a file descriptor.
 *
 * @example
 * const socket = sendfileSocket(res); // undefined: use the buffered path
 */
export function sendfileSocket(res: ServerResponse): Socket | undefined {
  const socket = res.socket;
  if (!socket || socket.destroyed || socket instanceof TLSSocket) return undefined;
  return socketFd(socket) === undefined ? undefined : socket;
}

/**
 * A sender for StoredBody.sendFile that writes the head, waits until it has left Node's write
 * queue (the body must follow it on the wire, and sendfile writes beside Node), then sends the
 * file range with sendfile. Rejects when the connection closes or stalls for the socket's idle
 * timeout; the caller destroys the response then. After it resolved, end `res` (nothing more
 * is written: Content-Length framed the body).
 *
 * @example
 * await stored.sendFile(sendfileSender(addon, res, socket, 200, headers));
 * res.end();
 */
export function sendfileSender(
  addon: SendfileAddon,
  res: ServerResponse,
  socket: Socket,
  status: number,
  headers: Record<string, string>,
): FileRangeSender {
  return async (fd, offset, length) => {
    // The body never passes through res.write: Node's byte count would call it missing. The
    // exact length is checked by the store instead (a short file rejects).
    res.strictContentLength = false;
    res.writeHead(status, headers);
    res.flushHeaders();
    await headLeft(socket);
    const ac = new AbortController();
    const gone = (): void => ac.abort(new Error('connection closed before the body was sent'));
    res.once('close', gone);
    try {
      const sfd = socket.destroyed ? undefined : socketFd(socket);
      if (sfd === undefined) throw new Error('connection closed before the body was sent');
      const idle = idleWatch(socket);
      return await sendFileToSocket(addon, sfd, fd, offset, length, {
        signal: ac.signal,
        idleMs: idle.idleMs,
        onProgress: idle.progress,
      });
    } finally {
      res.off('close', gone);
    }
  };
}

/** Resolves once everything written to `socket` so far has been handed to the kernel. */
function headLeft(socket: Socket): Promise<void> {
  if (socket.writableLength === 0) return Promise.resolve();
  // Write callbacks run in order: an empty write's runs after the head's has gone out. (A
  // 'drain' would only come if the head had filled the buffer.)
  return new Promise((resolve, reject) => {
    socket.write(EMPTY, (err?: Error | null) => (err ? reject(err) : resolve()));
  });
}
