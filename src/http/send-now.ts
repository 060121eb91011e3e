import type { ServerResponse } from 'node:http';
import type { SendfileAddon } from '../native/sendfile.ts';
import { sendfileSocket } from './sendfile.ts';
import { markHeadSent, putHead, socketFd, waitingHead } from './node-internals.ts';

/**
 * Small answers whose bytes are in memory (a cached download, a HEAD) leave in one sendmsg(2)
 * on the main thread, through the addon, instead of through Node's socket stream: for a 64 KiB
 * download that stream's write (a write request object, callbacks, writable-state bookkeeping)
 * cost more main-thread time than everything else the request does, and downloads of popular
 * files are where serve is busiest.
 *
 * Node still does everything else: writeHead() validates the headers and builds the head (Date,
 * keep-alive; or HeadMemo reuses one Node built), and end() finishes the response, so
 * keep-alive, pipelining and the next request work as on Node's own path. What this relies on
 * from Node's internals (node-internals.ts) is small and checked on every call: after
 * writeHead() the head waits on the response, and a response whose head counts as sent and that
 * gets no more body finishes without writing. Anything else (no addon, TLS, bytes already queued
 * on the socket, a head not where expected) takes Node's normal path.
 */

const EMPTY = new Uint8Array(0);

/**
 * Sends the head already written to `res` (writeHead, or HeadMemo) and `body` (empty for HEAD
 * and bodiless answers), and ends `res`. When the socket takes only part, Node's path sends the
 * rest (with backpressure, as any response). Returns false when the connection turned out to be
 * gone (the response is destroyed then).
 *
 * @example
 * res.writeHead(200, headers);
 * sendNow(addon, res, cached.bytes);
 */
export function sendNow(addon: SendfileAddon | undefined, res: ServerResponse, body: Uint8Array = EMPTY): boolean {
  const send = addon?.sendNow;
  const socket = send ? sendfileSocket(res) : undefined;
  const head = waitingHead(res);
  // writableLength 0: nothing of ours (an earlier response's tail) is still queued in Node.
  // writable: Node writes nothing either once the socket is ending (a client's half-close).
  if (!send || !socket || !socket.writable || socket.writableLength !== 0 || head === undefined) {
    res.end(body.length > 0 ? body : undefined);
    return true;
  }
  const fd = socketFd(socket)!;
  const sent = send(fd, head, body, 0, body.length);
  if (sent < 0) {
    res.destroy();
    return false;
  }
  if (sent < head.length) {
    // Node prepends what is left of the head to the body it writes.
    putHead(res, head.slice(sent));
    res.end(body.length > 0 ? body : undefined);
    return true;
  }
  markHeadSent(res);
  const bodySent = sent - head.length;
  if (bodySent < body.length) res.end(body.subarray(bodySent));
  else res.end();
  return true;
}
