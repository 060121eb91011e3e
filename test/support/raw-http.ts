import { connect, type Socket } from 'node:net';

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
  options: {
    bodiless?: number[];
    readAfterMs?: number;
    settleMs?: number;
    timeoutMs?: number;
    localAddress?: string;
  } = {},
): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const socket = connect({
    port,
    host: '127.0.0.1',
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
  });
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
    const timer = setTimeout(
      () => reject(new Error(`only ${responses.length} of ${count} responses (${buf.length} bytes pending)`)),
      options.timeoutMs ?? 10_000,
    );
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
        responses.push({
          head,
          status: Number(lines[0]?.split(' ')[1]),
          headers,
          body: Buffer.from(buf.subarray(end + 4, end + 4 + length)),
        });
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

/** The final answer to a raw PUT (past any 1xx). */
export interface RawPutAnswer {
  /** 0: the connection closed without an answer. */
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** The body as sent (its trailing newline included). */
  body: string;
  /** The server closed the connection (a `Connection: close` answer is awaited until it does). */
  closed: boolean;
}

/** A PUT in progress on its own connection: the test sends the body piece by piece. */
export interface RawPut {
  socket: Socket;
  answer: Promise<RawPutAnswer>;
  /** True once `answer` has resolved. */
  answered(): boolean;
  /** The status lines of the interim (1xx) answers seen so far. */
  interim: string[];
  send(bytes: Buffer | string): void;
}

/**
 * Sends the head of a PUT of `size` bytes to `url` over a fresh loopback connection (with
 * Content-Length, unless `headers` has Transfer-Encoding) and leaves the body to the test: what a
 * trickling or vanishing client does. A reset after the answer is expected (a refused body) and
 * not an error.
 *
 * @example
 * const put = rawPut(slot.put, {}, 1000);
 * put.send('x'.repeat(10));
 * const { status } = await put.answer; // 408 once the server stops waiting
 */
export function rawPut(url: string, headers: Record<string, string>, size: number): RawPut {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.on('error', () => {});
  let raw = '';
  let done = false;
  const interim: string[] = [];
  const answer = new Promise<RawPutAnswer>((resolve) => {
    const parse = (closed: boolean): void => {
      if (done) return;
      let text = raw;
      interim.length = 0;
      while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes('\r\n\r\n')) {
        interim.push(text.slice(0, text.indexOf('\r\n')));
        text = text.slice(text.indexOf('\r\n\r\n') + 4);
      }
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) {
          done = true;
          resolve({ status: 0, headers: {}, body: '', closed });
        }
        return;
      }
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
      const head: Record<string, string> = {};
      for (const l of lines) head[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const body = text.slice(end + 4);
      const length = Number(head['content-length'] ?? 0);
      if (!closed && (body.length < length || head.connection === 'close')) return;
      done = true;
      resolve({ status: Number(statusLine.split(' ')[1]), headers: head, body: body.slice(0, length), closed });
    };
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      parse(false);
    });
    socket.on('close', () => parse(true));
  });
  const length = headers['Transfer-Encoding'] === undefined ? `Content-Length: ${size}\r\n` : '';
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n${length}${extra}\r\n`);
  return { socket, answer, answered: () => done, interim, send: (b) => void (socket.destroyed || socket.write(b)) };
}
