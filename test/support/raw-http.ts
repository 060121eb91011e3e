import { connect } from 'node:net';

/** One HTTP/1.x response as it came off the wire. */
export interface RawResponse {
  /** The head exactly as sent, status line to the blank line included. */
  head: string;
  status: number;
  /** Header names lower-cased; the last value of a repeated one. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends `request` over a fresh loopback TCP connection — one string: all at once (several
 * requests in it are pipelined); an array: each after the response before it — and reads `count` responses, bodies framed by Content-Length (none for the
 * responses whose index is in `bodiless`: answers to HEAD). `closed` tells whether the server
 * closed the connection within `settleMs` after the last response. With `readAfterMs` the
 * client reads nothing for that long first, so the server's socket fills up; `localAddress` is the
 * loopback address it connects from. Rejects after `timeoutMs`.
 *
 * @example
 * const { responses } = await rawExchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 1);
 */
export async function rawExchange(
  port: number,
  request: string | string[],
  count: number,
  options: { bodiless?: number[]; readAfterMs?: number; settleMs?: number; timeoutMs?: number; localAddress?: string } = {},
): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const socket = connect({ port, host: '127.0.0.1', ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) });
  socket.on('error', () => {});
  if (options.readAfterMs !== undefined) socket.pause();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const queue = typeof request === 'string' ? [request] : [...request];
  socket.write(queue.shift() ?? '', 'latin1');
  if (options.readAfterMs !== undefined) setTimeout(() => socket.resume(), options.readAfterMs);
  let buf = Buffer.alloc(0);
  const responses: RawResponse[] = [];
  let closed = false;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${responses.length} of ${count} responses (${buf.length} bytes pending)`)), options.timeoutMs ?? 10_000);
    const parse = (): void => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end + 4).toString('latin1');
        const lines = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = options.bodiless?.includes(responses.length) ? 0 : Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + length) return;
        responses.push({ head, status: Number(lines[0]?.split(' ')[1]), headers, body: Buffer.from(buf.subarray(end + 4, end + 4 + length)) });
        buf = buf.subarray(end + 4 + length);
        const next = queue.shift();
        if (next !== undefined) socket.write(next, 'latin1');
        if (responses.length === count) {
          clearTimeout(timer);
          resolve();
          return;
        }
      }
    };
    // Joined only when a whole response may be there: concatenating every chunk of a large body
    // into everything before it would be quadratic.
    const chunks: Buffer[] = [];
    let pending = 0;
    let need = 0;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      pending += d.length;
      if (buf.length + pending < need) return;
      buf = Buffer.concat([buf, ...chunks]);
      chunks.length = 0;
      pending = 0;
      parse();
      const end = buf.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(buf.subarray(0, end < 0 ? 0 : end).toString('latin1'))?.[1];
      need = end < 0 || options.bodiless?.includes(responses.length) ? 0 : end + 4 + Number(length ?? 0);
    });
    socket.on('close', () => {
      closed = true;
      if (responses.length < count) {
        clearTimeout(timer);
        reject(new Error(`connection closed after ${responses.length} of ${count} responses`));
      }
    });
  });
  try {
    await done;
    if (!closed) await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 50));
    return { responses, closed };
  } finally {
    socket.destroy();
  }
}
