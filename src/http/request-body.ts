import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { SendfileAddon } from '../native/sendfile.ts';
import { spliceFromSocket } from '../native/splice.ts';
import type { HandedOverBody, HandOverBody } from '../storage/store.ts';
import { noteBodyBytes } from './memory.ts';
import { idleWatch } from './socket-idle.ts';
import { errCode } from '../errno.ts';
import { tcpHandle } from './node-internals.ts';

/**
 * An upload's request body as the store pulls it: counts every byte (`onBytes`, also for bytes
 * moved after a hand-over), and offers `handOver()` when the body can go by splice(2): plain TCP,
 * framed by Content-Length, and `addon` loaded. `idleMs`: how long the kernel path waits for a
 * byte before failing (default: the socket's timeout, see socket-idle.ts). `onReading(true)` when
 * the store asks for more body, `(false)` when a chunk or the end came back: in between it waits
 * for the client; outside, it is busy with what it has.
 *
 * After a hand-over nothing reads the socket through Node again — Node's HTTP parser still
 * counts the body as unread — so the connection must close after the answer: check `handedOver`.
 *
 * When the store stops early (body too long, 409) the stream is NOT destroyed — that would kill
 * the socket before the 413 goes out; the unread rest is drained or the connection closed after
 * the answer.
 *
 * @example
 * const body = requestBody(req, addon, (n) => (received += n));
 * await store.write(meta, body, { signal });
 * const close = body.handedOver ? { Connection: 'close' } : {};
 */
export function requestBody(
  incoming: IncomingMessage,
  addon: SendfileAddon | undefined,
  onBytes: (n: number) => void,
  options: { idleMs?: number; onReading?: (waiting: boolean) => void } = {},
): AsyncIterable<Uint8Array> & Partial<HandOverBody> & { readonly handedOver: boolean } {
  let handedOver = false;
  const onReading = options.onReading;
  const iterable = {
    get handedOver() {
      return handedOver;
    },
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      const it = incoming.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
      return {
        next: async () => {
          if (handedOver) return { done: true as const, value: undefined };
          onReading?.(true);
          const r = await it.next();
          onReading?.(false);
          if (!r.done) {
            onBytes(r.value.length);
            noteBodyBytes(r.value.length);
          }
          return r;
        },
        return: async () => (it.return ? it.return() : { done: true as const, value: undefined }),
      };
    },
  };
  if (!addon?.spliceStep || !addon.waitReadable || incoming.headers['content-length'] === undefined) return iterable;
  const socket = incoming.socket;
  if (socket instanceof TLSSocket) return iterable;
  return Object.assign(iterable, {
    handOver: async (): Promise<HandedOverBody | undefined> => {
      const handle = tcpHandle(socket);
      if (handedOver || !handle || socket.destroyed) return undefined;
      // From now on nothing may read this socket through Node: its HTTP parser would take the
      // bytes for body that the kernel moves elsewhere. Node restarts reading when a consumer
      // wants more (IncomingMessage._read → socket.resume), so readStart becomes a no-op.
      handle.readStop();
      handle.reading = false;
      handle.readStart = () => 0;
      handedOver = true;
      // From now on the kernel path waits for the client.
      onReading?.(true);
      // A read being parsed when readStop came still pushes its body bytes: let it finish. A
      // client that waited for 100 Continue has sent little or nothing yet: the rest goes by splice.
      await new Promise((resolve) => setImmediate(resolve));
      const buffered: Uint8Array[] = [];
      for (let b = incoming.read() as Buffer | null; b !== null; b = incoming.read() as Buffer | null) {
        buffered.push(b);
        onBytes(b.length);
      }
      return {
        buffered,
        moveTo: (fd, offset, length, { signal, onMoved }) => {
          const sfd = socket.destroyed ? undefined : tcpHandle(socket)?.fd;
          if (typeof sfd !== 'number')
            return Promise.reject(Object.assign(new Error('client closed the connection'), { code: 'ECONNRESET' }));
          const idle = idleWatch(socket);
          return spliceFromSocket(addon, sfd, fd, offset, length, {
            ...(signal ? { signal } : {}),
            idleMs: options.idleMs ?? idle.idleMs,
            onProgress: (n) => {
              onBytes(n);
              onMoved?.(n);
              idle.progress();
            },
          }).catch((err: unknown) => {
            // The client is gone or stalled: close our end too. Other failures (disk full, a
            // shutdown) are answered first; the answer closes the connection (handedOver).
            const code = errCode(err);
            if (code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE' || code === 'ENOTCONN')
              socket.destroy();
            throw err;
          });
        },
      };
    },
  });
}
